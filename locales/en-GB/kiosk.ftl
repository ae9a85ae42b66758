# Satchel kiosk: the few words only a teacher sees (English, UK). The reference for kiosk.ftl;
# a locale without this file falls back to these messages.

## Exit prompt: shown in the toolbar strip after the teacher presses Ctrl+Alt+Shift+T

# Exit prompt: title of the strip, read by screen readers.
exit-title = Leave Satchel
# Exit prompt: label of the PIN box.
exit-pin-label = Teacher PIN
# Exit prompt: the button that closes Satchel when the PIN is right.
exit-leave = Leave
# Exit prompt: the button that puts the pupil toolbar back.
exit-cancel = Cancel
# Exit prompt: shown after a wrong PIN.
exit-wrong-pin = That PIN is not right.
