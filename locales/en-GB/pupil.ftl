# Satchel pupil screens: English (UK). The reference locale: every other pupil.ftl has
# exactly these ids.
#
# Pupils are 5 to 7 and many cannot read yet. Use the short, kind words a teacher says.
# A screen has one sentence at most; a button has one word (two at most) under its
# picture. Plain text only: the kiosk HTML-escapes every message.

## Toolbar: the strip at the top of every window

# Toolbar: word under the house picture; goes to the Home page.
toolbar-home = Home
# Toolbar: word under the arrow; goes back one page.
toolbar-back = Back
# Toolbar: word under the raised hand on the amber Tell my teacher button.
toolbar-tell = Tell
# Toolbar: full name of the Tell button, read by screen readers (and the toolbar's title).
tell-teacher-label = Tell my teacher
# Toolbar: beside the small badge (hourglass and a number) when reports wait to be sent; read by screen readers.
reports-waiting = Waiting to send

## Home page

# Home page: the one sentence, above the picture tiles.
home-sentence = Pick a picture.
# Home page: shown instead of the tiles when the teacher has not chosen any sites.
home-no-tiles = Your teacher will add pictures soon.
# Home page: name of the search box, read by screen readers.
home-search-label = Search words
# Home page: word under the magnifier on the search button.
home-search-button = Find

## Shared by several pages

# Blocked, offline, thanks and home pages: word under the speaker; reads the sentence aloud.
listen = Listen
# Blocked and offline pages: word under the arrow on the big Go back button.
go-back = Go back
# Blocked and offline pages: small text for the teacher, before the page's address.
page-address = Page address:

## Blocked page: a page that is not on today's list

# Blocked page: the one sentence. Kind: it is not the pupil's fault.
blocked-sentence = This page is not on today's list.
# Blocked page: word under the teacher picture; asks for this page to be allowed.
ask-teacher = Ask
# Blocked page: full name of the Ask button, read by screen readers.
ask-teacher-label = Ask my teacher

## Offline page: the site cannot be reached

# Offline page: the one sentence.
offline-sentence = This page is not working just now.

## Thanks page: after Tell my teacher

# Thanks page: the sentence shown after Tell my teacher (the one screen with two short sentences).
thanks-sentence = Thank you for telling. Your teacher is coming.
# Thanks page: name of the group of feeling pictures, read by screen readers.
feelings-label = How did it feel?
# Thanks page: word under the frightened face.
feeling-scary = Scary
# Thanks page: word under the monkey covering its mouth (rude words or pictures).
feeling-rude = Rude
# Thanks page: word under the crying face.
feeling-sad = Sad
# Thanks page: word under the thinking face.
feeling-other = Something else
# Thanks and offline pages: word under the house on the big Go home button.
go-home = Go home
