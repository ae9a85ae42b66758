# Satchel pupil screens: Urdu (اردو), right to left. Same ids as locales/en-GB/pupil.ftl, which has the
# English meaning of each message; the comments say where each one appears.
#
# Polite 'aap' forms; ٹیچر (teacher) is the word UK Urdu-speaking children use.
# To be checked by a native speaker.
# Kind, short words; one sentence per screen; one word (two at most) under a picture.

## Toolbar: the strip at the top of every window

# Toolbar: word under the house picture; goes to the Home page.
toolbar-home = گھر
# Toolbar: word under the arrow; goes back one page.
toolbar-back = واپس
# Toolbar: word under the raised hand on the amber Tell my teacher button.
toolbar-tell = بتائیں
# Toolbar: full name of the Tell button, read by screen readers (and the toolbar's title).
tell-teacher-label = اپنے ٹیچر کو بتائیں
# Toolbar: beside the small badge (hourglass and a number) when reports wait to be sent; read by screen readers.
reports-waiting = بھیجنے کا انتظار

## Home page

# Home page: the one sentence, above the picture tiles.
home-sentence = ایک تصویر چنیں۔
# Home page: shown instead of the tiles when the teacher has not chosen any sites.
home-no-tiles = آپ کے ٹیچر جلد تصویریں لگائیں گے۔
# Home page: name of the search box, read by screen readers.
home-search-label = تلاش کے الفاظ
# Home page: word under the magnifier on the search button.
home-search-button = تلاش

## Shared by several pages

# Blocked, offline, thanks and home pages: word under the speaker; reads the sentence aloud.
listen = سنیں
# Blocked and offline pages: word under the arrow on the big Go back button.
go-back = واپس جائیں
# Blocked and offline pages: small text for the teacher, before the page's address.
page-address = صفحے کا پتہ:

## Blocked page: a page that is not on today's list

# Blocked page: the one sentence. Kind: it is not the pupil's fault.
blocked-sentence = یہ صفحہ آج کی فہرست میں نہیں ہے۔
# Blocked page: word under the teacher picture; asks for this page to be allowed.
ask-teacher = پوچھیں
# Blocked page: full name of the Ask button, read by screen readers.
ask-teacher-label = اپنے ٹیچر سے پوچھیں

## Offline page: the site cannot be reached

# Offline page: the one sentence.
offline-sentence = یہ صفحہ ابھی نہیں کھل رہا۔

## Thanks page: after Tell my teacher

# Thanks page: the sentence shown after Tell my teacher (the one screen with two short sentences).
thanks-sentence = بتانے کا شکریہ۔ آپ کے ٹیچر آ رہے ہیں۔
# Thanks page: name of the group of feeling pictures, read by screen readers.
feelings-label = یہ کیسا تھا؟
# Thanks page: word under the frightened face.
feeling-scary = ڈراؤنا
# Thanks page: word under the monkey covering its mouth (rude words or pictures).
feeling-rude = بدتمیز
# Thanks page: word under the crying face.
feeling-sad = اداس
# Thanks page: word under the thinking face.
feeling-other = کچھ اور
# Thanks and offline pages: word under the house on the big Go home button.
go-home = گھر جائیں
