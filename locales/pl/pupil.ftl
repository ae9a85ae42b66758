# Satchel pupil screens: Polish (polski). Same ids as locales/en-GB/pupil.ftl, which has the
# English meaning of each message; the comments say where each one appears.
#
# Informal 'ty' forms, as a teacher speaks to a young child; wording chosen to
# avoid past-tense forms that depend on the child's gender. To be checked by a native speaker.
# Kind, short words; one sentence per screen; one word (two at most) under a picture.

## Toolbar: the strip at the top of every window

# Toolbar: word under the house picture; goes to the Home page.
toolbar-home = Start
# Toolbar: word under the arrow; goes back one page.
toolbar-back = Wróć
# Toolbar: word under the raised hand on the amber Tell my teacher button.
toolbar-tell = Powiedz
# Toolbar: full name of the Tell button, read by screen readers (and the toolbar's title).
tell-teacher-label = Powiedz nauczycielowi
# Toolbar: beside the small badge (hourglass and a number) when reports wait to be sent; read by screen readers.
reports-waiting = Czeka na wysłanie

## Home page

# Home page: the one sentence, above the picture tiles.
home-sentence = Wybierz obrazek.
# Home page: shown instead of the tiles when the teacher has not chosen any sites.
home-no-tiles = Nauczyciel wkrótce doda obrazki.
# Home page: name of the search box, read by screen readers.
home-search-label = Czego szukasz?
# Home page: word under the magnifier on the search button.
home-search-button = Szukaj

## Shared by several pages

# Blocked, offline, thanks and home pages: word under the speaker; reads the sentence aloud.
listen = Posłuchaj
# Blocked and offline pages: word under the arrow on the big Go back button.
go-back = Wróć
# Blocked and offline pages: small text for the teacher, before the page's address.
page-address = Adres strony:

## Blocked page: a page that is not on today's list

# Blocked page: the one sentence. Kind: it is not the pupil's fault.
blocked-sentence = Tej strony nie ma na dzisiejszej liście.
# Blocked page: word under the teacher picture; asks for this page to be allowed.
ask-teacher = Zapytaj
# Blocked page: full name of the Ask button, read by screen readers.
ask-teacher-label = Zapytaj nauczyciela

## Offline page: the site cannot be reached

# Offline page: the one sentence.
offline-sentence = Ta strona teraz nie działa.

## Thanks page: after Tell my teacher

# Thanks page: the sentence shown after Tell my teacher (the one screen with two short sentences).
thanks-sentence = Dziękuję, że mówisz. Nauczyciel już idzie.
# Thanks page: name of the group of feeling pictures, read by screen readers.
feelings-label = Jakie to było?
# Thanks page: word under the frightened face.
feeling-scary = Straszne
# Thanks page: word under the monkey covering its mouth (rude words or pictures).
feeling-rude = Niegrzeczne
# Thanks page: word under the crying face.
feeling-sad = Smutne
# Thanks page: word under the thinking face.
feeling-other = Coś innego
# Thanks and offline pages: word under the house on the big Go home button.
go-home = Na start
