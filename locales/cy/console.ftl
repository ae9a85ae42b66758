# Satchel teacher console: Welsh (Cymraeg). Same ids as locales/en-GB/console.ftl, which has the
# English meaning of each message. Staff read these: plain, short, 'chi' forms, the words a
# Welsh-medium school uses (the incident form's own field names).

## Every page

console-nav = Consol
console-lessons = Gwersi
console-reports = Adroddiadau
console-logout = Allgofnodi
console-request-too-slow = Cymerodd yr hyn a anfonodd eich porwr ormod o amser i gyrraedd, felly chafodd dim byd ei gadw. Gwiriwch y cysylltiad â'r rhwydwaith a rhowch gynnig arall arni.

## Logging in

console-login-title = Mewngofnodi i Satchel
console-name = Enw
console-password = Cyfrinair
console-login = Mewngofnodi
console-wrong-login = Dydy'r enw a'r cyfrinair hynny ddim yn cyfateb.
console-too-many-tries = Gormod o gynigion. Arhoswch ychydig a rhowch gynnig arall arni, neu gofynnwch i'r gweinyddwr ailosod y cyfrinair.
console-form-expired = Roedd y ffurflen wedi dod i ben. Rhowch gynnig arall arni.

## Lessons

console-rooms = Ystafelloedd
console-room = Ystafell
console-running = Gwers nawr
console-ends = Yn gorffen
console-no-lesson = Dim gwers: mae rhestr arferol yr ystafell yn berthnasol.
console-extend = 15 munud arall
console-end = Gorffen nawr
console-lesson-lists = Rhestrau gwefannau gwersi
console-minutes = Munudau
console-start = Dechrau
console-new-lesson = Rhestr gwers newydd
console-lesson-name = Enw
console-lesson-name-needed = Rhowch enw i'r wers.
console-sites = Gwefannau
console-sites-help = Un wefan ar bob llinell: y cyfeiriad, yna os mynnwch | teitl | llun (emoji) ar gyfer tudalen Cartref y disgyblion. Enghraifft: www.topmarks.co.uk/maths-games | Topmarks | 🔢
console-create = Cadw'r rhestr

## Reports inbox

console-export-csv = Allforio fel CSV
console-when = Dyddiad ac amser
console-where = Ystafell a chyfrifiadur
console-page = Tudalen
console-evidence = Sgrinlun
console-incident = Ffurflen digwyddiad
console-no-reports = Dim adroddiadau.
console-newer-reports = ← Adroddiadau mwy newydd
console-older-reports = Adroddiadau hŷn →
console-reveal = Dangos y sgrinlun
console-refer = Peidio ag edrych: atgyfeirio
console-refer-hidden = Wedi'i guddio: wedi'i atgyfeirio heb ei weld.
console-incident-type = Math o ddigwyddiad
console-details = Manylion
console-passed-to = Wedi'i drosglwyddo i
console-action-taken = Camau a gymerwyd
console-status = Statws
console-status-new = Newydd
console-status-in-hand = Yn cael sylw
console-status-closed = Wedi cau
console-save = Cadw
console-feeling-scary = Dywedodd y disgybl: codi ofn
console-feeling-rude = Dywedodd y disgybl: digywilydd
console-feeling-sad = Dywedodd y disgybl: trist
console-feeling-other = Dywedodd y disgybl: rhywbeth arall

## Pupils asked for a page (from the block page)

console-asks = Ceisiadau gan ddisgyblion
console-no-asks = Dim ceisiadau.
console-approve = Caniatáu ar gyfer y wers hon
console-approve-needs-lesson = Dechreuwch wers yn yr ystafell hon i'w ganiatáu.
console-decline = Gwrthod

## Machines (admin) and the audit log (DSL, admin)

console-machines = Cyfrifiaduron
console-machine = Cyfrifiadur
console-last-heard = Clywyd ddiwethaf
console-rules-version = Fersiwn y rheolau (sydd ganddo / cyfredol)
console-state = Cyflwr
console-satchel-version = Fersiwn Satchel
console-silent = Yn dawel ers mwy na 10 munud
console-outdated = Yn defnyddio hen reolau
console-never = Byth
console-outbox = Blwch allan
console-outbox-counts = { $waiting } yn aros, { $damaged } wedi'u rhoi o'r neilltu
console-set-aside = Eitemau na allai eu hanfon: rhedwch satchel status arno
console-machines-summary = Cyfrifiaduron: { $total }. Yn dawel ers mwy na 10 munud: { $silent }. Yn defnyddio hen reolau: { $outdated }.
console-retire = Tynnu o ddefnydd
console-retire-confirm = Tynnu'r cyfrifiadur hwn o ddefnydd? Ni fydd yn cael rheolau nac yn gallu anfon adroddiadau nes iddo gael ei gofrestru eto. Mae ei adroddiadau'n aros.
console-audit = Log archwilio
console-who = Pwy
console-what = Beth

## Profiles (admin)

console-profiles = Proffiliau
console-profile-list = Gwefannau a ganiateir ac a rwystrir, un ar bob llinell (adrannau [allow] a [block])
console-search-engine = Peiriant chwilio
console-export-list = Lawrlwytho fel ffeil rhestr
console-image-search = Caiff disgyblion agor canlyniadau chwilio am luniau
console-open-web = Gwe agored: mae gwefannau nad ydynt ar y rhestr yn agor hefyd, ac eithrio'r categorïau isod
console-blocked-categories = Categorïau wedi'u rhwystro (gwe agored; enwau o'r data categorïau, wedi'u gwahanu gan atalnodau)
console-no-screenshot = Dim sgrinlun: nid oedd y cyfrifiadur yn gallu tynnu un.

## Rooms and accounts (admin)

console-admin = Ystafelloedd a chyfrifon
console-new-code = Cod cofrestru newydd
console-add-room = Ychwanegu ystafell
console-users = Cyfrifon staff
console-role = Rôl
console-add-user = Ychwanegu cyfrif
console-disable = Analluogi
console-disable-confirm = Analluogi'r cyfrif hwn? Maen nhw'n cael eu hallgofnodi ar unwaith ac ni allan nhw fewngofnodi eto. Mae'r hyn a wnaethant yn aros yn y log archwilio.
console-disabled = wedi'i analluogi
console-fingerprint = Ôl bys tystysgrif y gweinydd (gwiriwch ei fod yr un fath ar y ciosg):
console-code-help = Defnyddiwch ef ar un ciosg o fewn 24 awr: satchel enrol --server CYFEIRIAD --code COD --fingerprint ÔL-BYS. Dim ond nawr y caiff ei ddangos.

## Passwords

console-change-password = Newid cyfrinair
console-password-must-change = Rydych chi wedi mewngofnodi gyda chyfrinair untro. Dewiswch eich cyfrinair eich hun i fynd ymlaen.
console-password-current = Cyfrinair presennol
console-password-new = Cyfrinair newydd
console-password-repeat = Cyfrinair newydd eto
console-password-help = O leiaf 10 nod. Mae brawddeg fer yn hawdd ei chofio ac yn anodd ei dyfalu.
console-password-mismatch = Dydy'r ddau gyfrinair newydd ddim yr un fath.
console-password-short = Mae gan gyfrinair rhwng 10 a 256 nod.
console-password-same = Dewiswch gyfrinair newydd nad yw'n gyfrinair presennol i chi nac yn enw i chi.
console-password-wrong = Dydy'ch cyfrinair presennol ddim yn gywir.
console-reset-password = Ailosod y cyfrinair
console-reset-confirm = Rhoi cyfrinair untro newydd i'r cyfrif hwn? Mae ei berchennog yn cael ei allgofnodi ar unwaith.
console-reset-own = Newidiwch eich cyfrinair eich hun ar y dudalen Newid cyfrinair.
console-one-time-help = Rhowch y cyfrinair untro hwn i'w berchennog. Byddan nhw'n dewis eu cyfrinair eu hunain pan fyddan nhw'n mewngofnodi gyntaf.

## Pupils' requests, exactly

console-approve-cannot = Does dim modd caniatáu'r cyfeiriad hwn ar ei ben ei hun (nid un dudalen we yw e). Ychwanegwch y wefan at restr gwers yn lle hynny.
console-approve-allows-host = Mae caniatáu hyn yn agor pob tudalen o'r un wefan hon (nid ei gwefannau eraill):
console-approve-allows-path = Mae caniatáu hyn yn agor y dudalen hon, a'r tudalennau oddi tani, ar yr un wefan hon:
console-approve-allows-page = Mae caniatáu hyn yn agor y dudalen hon yn unig:
console-approve-lesson-ended = Mae'r wers yn yr ystafell honno wedi dod i ben, felly chafodd dim byd ei ganiatáu. Mae'r cais yn cael ei gadw: dechreuwch wers, yna caniatewch e.
console-ask-already-answered = Mae rhywun eisoes wedi ateb y cais hwn.

## Audit log pages

console-audit-every-action = Pob gweithred
console-show = Dangos
console-newer-entries = Cofnodion mwy newydd
console-older-entries = Cofnodion hŷn

## Incident form history

console-history = { $count ->
    [one] Un cadw
   *[other] { $count } o weithiau cadw
}
console-stale-save = Fe wnaeth rhywun gadw'r adroddiad hwn ar ôl i chi ei agor, felly chafodd eich newidiadau ddim eu cadw. Mae'r adroddiad fel y mae nawr isod, gyda'r hyn a deipioch chi: ychwanegwch eich geiriau ato a'i gadw eto.
console-your-unsaved-text = Yr hyn a deipioch chi (heb ei gadw)

## Rhybuddion: e-byst i'r arweinwyr diogelu, a sut y disgrifir rhybudd.
console-mail-urgent-subject = Satchel: rhybudd brys
console-mail-urgent-intro = Roedd chwiliad neu dudalen disgybl yn cyfateb i derm pryder brys. Edrychwch arno nawr, os gwelwch yn dda.
console-mail-digest-subject = Satchel: rhybuddion heddiw i'w hadolygu
console-mail-digest-intro = Roedd y chwiliadau a'r tudalennau hyn yn cyfateb i dermau pryder ar lefel adolygu, neu cafodd peiriant lawer o dudalennau wedi'u rhwystro o fewn ychydig funudau.
console-mail-open-console = Agorwch Rhybuddion yng nghonsol Satchel i weld sesiwn y disgybl ac i gydnabod pob rhybudd.
console-alert-when = Pryd
console-alert-where = Ystafell a pheiriant
console-alert-category = Categori
console-alert-words = Geiriau a gyfatebodd
console-alert-text = Wedi chwilio amdano neu ei agor
console-alert-repeated-blocks = Tudalennau wedi'u rhwystro o fewn pum munud

## Beth y caiff un cyfrifiadur ei anfon, a chael gwared ar sothach (DSL, gweinyddwr)

console-no-screenshot-quota = Dim sgrinlun: roedd y cyfrifiadur hwn eisoes wedi anfon ei gyfran o sgrinluniau (200 MB), felly cafodd yr adroddiad ei gadw hebddo.
console-no-screenshot-disk = Dim sgrinlun: roedd y gweinydd yn brin o le ar y ddisg, felly cafodd yr adroddiad ei gadw hebddo.
console-name-too-long = Mae gan enw cyfrif 64 nod ar y mwyaf.
console-junk = Cael gwared ar sothach
console-junk-remove = Cael gwared ar sothach…
console-junk-help = Adroddiadau a cheisiadau a anfonodd pob cyfrifiadur yn ddiweddar. Os anfonodd cyfrifiadur sothach (aeth rhywbeth o'i le, neu defnyddiodd rhywun ei hunaniaeth), edrychwch ar yr hyn a anfonodd a chael gwared arno. Mae adroddiadau y mae rhywun wedi gweithio arnyn nhw bob amser yn aros.
console-hours = Oriau
console-junk-asks = Ceisiadau'n aros
console-retired = wedi'i dynnu o ddefnydd
console-junk-none = Ni anfonodd unrhyw gyfrifiadur ddim byd yn yr amser hwnnw.
console-junk-summary = Wedi'u hanfon yn ystod y { $hours } awr ddiwethaf, i gael gwared arnyn nhw: adroddiadau { $reports }, ceisiadau { $asks }.
console-junk-kept = Mae adroddiadau y mae rhywun wedi gweithio arnyn nhw yn aros: { $kept }.
console-junk-more = A { $more } arall sydd ddim wedi'u rhestru yma.
console-junk-nothing = Does dim byd i gael gwared arno.
console-junk-confirm = Cael gwared ar yr adroddiadau a'r ceisiadau hyn am byth? Does dim modd dadwneud hyn, ac mae'n cael ei ysgrifennu yn y log archwilio.
console-junk-confirm-button = Cael gwared arnyn nhw
console-junk-removed = Wedi cael gwared ar: adroddiadau { $reports }, ceisiadau { $asks }.

## Monitro: y log gweithgarwch, rhybuddion a thermau'r ysgol ei hun (DSL a gweinyddwr), Yr ystafell nawr.
console-activity = Gweithgarwch
console-activity-words = Geiriau yn y cyfeiriad neu'r chwiliad
console-activity-from = O
console-activity-to = I
console-activity-kind = Beth ddigwyddodd
console-activity-all = Y cyfan
console-activity-search = Chwilio
console-activity-export = Llwytho'r rhain i lawr fel CSV
console-activity-none = Ni chafwyd hyd i ddim byd.
console-activity-what = Cyfeiriad neu chwiliad
console-activity-session = Sesiwn
console-activity-timeline = Llinell amser y sesiwn
console-activity-because = Oherwydd
console-activity-dropped-help = Ni allai'r cyfrifiadur anfon am amser hir ac roedd ei log yn llawn: collwyd { $count } o ddigwyddiadau hŷn.
console-activity-opened = Agorodd dudalen
console-activity-titled = Teitl y dudalen
console-activity-searched = Chwiliodd
console-activity-blocked = Tudalen wedi'i rhwystro
console-activity-subresources-blocked = Rhannau o dudalen wedi'u rhwystro
console-activity-told = Dywedodd wrth yr athro
console-activity-asked = Gofynnodd am dudalen
console-activity-session-start = Dechreuodd sesiwn
console-activity-session-end = Daeth sesiwn i ben
console-activity-dropped = Digwyddiadau a gollwyd
console-alerts = Rhybuddion
console-alerts-help = Chwiliadau a thudalennau a gyfatebodd i derm pryder, a chyfrifiaduron â llawer o dudalennau wedi'u rhwystro o fewn ychydig funudau. Mae rhybuddion brys yn ymddangos yma wrth iddyn nhw ddigwydd. Edrychwch ar y sesiwn, gweithredwch yn unol â'ch polisi diogelu, yna ysgrifennwch beth wnaethoch chi.
console-alerts-dealt-with = Wedi delio ag ef
console-alerts-none = Dim rhybuddion.
console-alerts-note = Beth a wnaed
console-alerts-acknowledge = Nodi bod hyn wedi'i drin
console-alerts-note-needed = Ysgrifennwch beth a wnaed (hyd at 2,000 nod) cyn nodi bod rhybudd wedi'i drin.
console-alerts-urgent = Brys
console-alerts-review = Adolygu
console-terms = Termau'r ysgol ei hun
console-terms-help = Man cychwyn yw rhestr gychwynnol Satchel (allowlists/alerts/): adolygwch hi, ac ychwanegwch y geiriau y mae eich disgyblion yn eu defnyddio. Mae pob newid yn cael ei ysgrifennu yn y log archwilio.
console-terms-phrase = Geiriau
console-terms-severity = Difrifoldeb
console-terms-remove = Tynnu
console-terms-add = Ychwanegu
console-terms-bad = Mae gan derm o leiaf dair llythyren (hyd at 200 nod), un o'r categorïau a difrifoldeb.
console-room-now = Yr ystafell nawr
console-room-now-help = Pob cyfrifiadur yn eich ystafelloedd a'r dudalen y mae'n ei dangos, wrth iddi newid.
console-room-now-none = Dim cyfrifiaduron yn eich ystafelloedd eto.
console-room-now-home = Tudalen Gartref Satchel
console-room-now-blocked = Rhwystrwyd ddiwethaf:
console-alert-email = E-byst rhybuddion at
console-email-bad = Nid yw hwnnw'n gyfeiriad e-bost: ni newidiwyd dim.

## Ysgolion mewn ymddiriedolaeth
console-school = Ysgol
console-schools = Ysgolion
console-schools-help = Mae arweinwyr diogelu a gweinyddwyr pob ysgol yn gweld ystafelloedd, adroddiadau, rhybuddion, gweithgarwch a chyfrifiaduron eu hysgol eu hunain yn unig. Mae cyfrifon yr ymddiriedolaeth gyfan yn gweld pob ysgol.
console-whole-trust = Yr ymddiriedolaeth gyfan
console-school-choose = Dewiswch ysgol: ni ychwanegwyd dim.
console-school-own = Ni allwch symud eich cyfrif eich hun i ysgol.
console-school-move = Symud
console-school-move-confirm = Symud y cyfrif hwn? Caiff ei allgofnodi, a gweld dim ond yr hyn sydd gan ei ysgol newydd.
console-rename = Ailenwi
console-add-school = Ychwanegu ysgol
console-terms-trust-keeps = Tîm diogelu'r ymddiriedolaeth sy'n cadw'r termau hyn: maent yn berthnasol i bob ysgol.
console-school-pick = Dewiswch ysgol
console-showing = Yn dangos
console-all-schools = Pob ysgol
console-show-school = Dangos
