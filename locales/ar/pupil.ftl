# Satchel pupil screens: Arabic (العربية), right to left. Same ids as locales/en-GB/pupil.ftl, which has the
# English meaning of each message; the comments say where each one appears.
#
# Modern Standard Arabic in short words. Buttons use the masculine imperative usual
# in Arabic interfaces; sentences avoid forms that depend on the child's gender. To be checked by a native speaker.
# Kind, short words; one sentence per screen; one word (two at most) under a picture.

## Toolbar: the strip at the top of every window

# Toolbar: word under the house picture; goes to the Home page.
toolbar-home = البيت
# Toolbar: word under the arrow; goes back one page.
toolbar-back = رجوع
# Toolbar: word under the raised hand on the amber Tell my teacher button.
toolbar-tell = أخبِر
# Toolbar: full name of the Tell button, read by screen readers (and the toolbar's title).
tell-teacher-label = أخبِر معلّمي
# Toolbar: beside the small badge (hourglass and a number) when reports wait to be sent; read by screen readers.
reports-waiting = في انتظار الإرسال

## Home page

# Home page: the one sentence, above the picture tiles.
home-sentence = اختر صورة.
# Home page: shown instead of the tiles when the teacher has not chosen any sites.
home-no-tiles = سيضيف معلّمك صورًا قريبًا.
# Home page: name of the search box, read by screen readers.
home-search-label = كلمات البحث
# Home page: word under the magnifier on the search button.
home-search-button = ابحث

## Shared by several pages

# Blocked, offline, thanks and home pages: word under the speaker; reads the sentence aloud.
listen = استمع
# Blocked and offline pages: word under the arrow on the big Go back button.
go-back = رجوع
# Blocked and offline pages: small text for the teacher, before the page's address.
page-address = عنوان الصفحة:

## Blocked page: a page that is not on today's list

# Blocked page: the one sentence. Kind: it is not the pupil's fault.
blocked-sentence = هذه الصفحة ليست في قائمة اليوم.
# Blocked page: word under the teacher picture; asks for this page to be allowed.
ask-teacher = اسأل
# Blocked page: full name of the Ask button, read by screen readers.
ask-teacher-label = اسأل معلّمي

## Offline page: the site cannot be reached

# Offline page: the one sentence.
offline-sentence = هذه الصفحة لا تعمل الآن.

## Thanks page: after Tell my teacher

# Thanks page: the sentence shown after Tell my teacher (the one screen with two short sentences).
thanks-sentence = شكرًا لأنك أخبرتنا. معلّمك قادم.
# Thanks page: name of the group of feeling pictures, read by screen readers.
feelings-label = كيف كان؟
# Thanks page: word under the frightened face.
feeling-scary = مخيف
# Thanks page: word under the monkey covering its mouth (rude words or pictures).
feeling-rude = غير مهذّب
# Thanks page: word under the crying face.
feeling-sad = حزين
# Thanks page: word under the thinking face.
feeling-other = شيء آخر
# Thanks and offline pages: word under the house on the big Go home button.
go-home = إلى البيت
