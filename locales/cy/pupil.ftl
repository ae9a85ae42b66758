# Satchel pupil screens: Welsh (Cymraeg). Same ids as locales/en-GB/pupil.ftl, which has the
# English meaning of each message; the comments say where each one appears.
#
# Informal 'ti' forms, as a teacher speaks to a young child. Athro is used
# for any teacher, as in the classroom.
# Kind, short words; one sentence per screen; one word (two at most) under a picture.

## Toolbar: the strip at the top of every window

# Toolbar: word under the house picture; goes to the Home page.
toolbar-home = Cartref
# Toolbar: word under the arrow; goes back one page.
toolbar-back = Yn ôl
# Toolbar: word under the raised hand on the amber Tell my teacher button.
toolbar-tell = Dweud
# Toolbar: full name of the Tell button, read by screen readers (and the toolbar's title).
tell-teacher-label = Dweud wrth fy athro
# Toolbar: beside the small badge (hourglass and a number) when reports wait to be sent; read by screen readers.
reports-waiting = Yn aros i anfon

## Home page

# Home page: the one sentence, above the picture tiles.
home-sentence = Dewisa lun.
# Home page: shown instead of the tiles when the teacher has not chosen any sites.
home-no-tiles = Bydd dy athro'n ychwanegu lluniau cyn bo hir.
# Home page: name of the search box, read by screen readers.
home-search-label = Geiriau chwilio
# Home page: word under the magnifier on the search button.
home-search-button = Chwilio

## Shared by several pages

# Blocked, offline, thanks and home pages: word under the speaker; reads the sentence aloud.
listen = Gwrando
# Blocked and offline pages: word under the arrow on the big Go back button.
go-back = Mynd yn ôl
# Blocked and offline pages: small text for the teacher, before the page's address.
page-address = Cyfeiriad y dudalen:

## Blocked page: a page that is not on today's list

# Blocked page: the one sentence. Kind: it is not the pupil's fault.
blocked-sentence = Dydy'r dudalen hon ddim ar restr heddiw.
# Blocked page: word under the teacher picture; asks for this page to be allowed.
ask-teacher = Gofyn
# Blocked page: full name of the Ask button, read by screen readers.
ask-teacher-label = Gofyn i fy athro

## Offline page: the site cannot be reached

# Offline page: the one sentence.
offline-sentence = Dydy'r dudalen hon ddim yn gweithio ar hyn o bryd.

## Thanks page: after Tell my teacher

# Thanks page: the sentence shown after Tell my teacher (the one screen with two short sentences).
thanks-sentence = Diolch am ddweud. Mae dy athro'n dod.
# Thanks page: name of the group of feeling pictures, read by screen readers.
feelings-label = Sut oeddet ti'n teimlo?
# Thanks page: word under the frightened face.
feeling-scary = Codi ofn
# Thanks page: word under the monkey covering its mouth (rude words or pictures).
feeling-rude = Digywilydd
# Thanks page: word under the crying face.
feeling-sad = Trist
# Thanks page: word under the thinking face.
feeling-other = Rhywbeth arall
# Thanks and offline pages: word under the house on the big Go home button.
go-home = Mynd adref
