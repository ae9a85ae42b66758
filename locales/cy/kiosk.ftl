# Satchel kiosk: the few words only a teacher sees (Welsh). Same ids as en-GB/kiosk.ftl.

## Exit prompt: shown in the toolbar strip after the teacher presses Ctrl+Alt+Shift+T

# Exit prompt: title of the strip, read by screen readers.
exit-title = Gadael Satchel
# Exit prompt: label of the PIN box.
exit-pin-label = PIN yr athro
# Exit prompt: the button that closes Satchel when the PIN is right.
exit-leave = Gadael
# Exit prompt: the button that puts the pupil toolbar back.
exit-cancel = Canslo
# Exit prompt: shown after a wrong PIN.
exit-wrong-pin = Dydy'r PIN hwnnw ddim yn gywir.
