# Satchel teacher console (English, UK): the reference for console.ftl. Staff read these:
# plain, short, the words a school uses (the incident form's own field names).

## Every page

console-nav = Console
console-lessons = Lessons
console-reports = Reports
console-logout = Log out

## Logging in

console-login-title = Log in to Satchel
console-name = Name
console-password = Password
console-login = Log in
console-wrong-login = That name and password do not match.
console-too-many-tries = Too many tries. Wait 15 minutes, or ask the admin to reset the password.
console-form-expired = The form had expired. Please try again.

## Lessons

console-rooms = Rooms
console-room = Room
console-running = Lesson now
console-ends = Ends
console-no-lesson = No lesson: the room's usual list applies.
console-extend = 15 minutes more
console-end = End now
console-lesson-lists = Lesson site lists
console-minutes = Minutes
console-start = Start
console-new-lesson = New lesson list
console-lesson-name = Name
console-lesson-name-needed = Give the lesson a name.
console-sites = Sites
console-sites-help = One site a line: the address, then optionally | a title | a picture (an emoji) for the pupils' Home page. Example: www.topmarks.co.uk/maths-games | Topmarks | 🔢
console-create = Save list

## Reports inbox

console-export-csv = Export as CSV
console-when = Date and time
console-where = Room and computer
console-page = Page
console-evidence = Screenshot
console-incident = Incident form
console-no-reports = No reports.
console-newer-reports = ← Newer reports
console-older-reports = Older reports →
console-reveal = Show screenshot
console-refer = Do not view: refer
console-refer-hidden = Hidden: referred without viewing.
console-incident-type = Type of incident
console-details = Details
console-passed-to = Passed to
console-action-taken = Action taken
console-status = Status
console-status-new = New
console-status-in-hand = In hand
console-status-closed = Closed
console-save = Save
console-feeling-scary = The pupil said: scary
console-feeling-rude = The pupil said: rude
console-feeling-sad = The pupil said: sad
console-feeling-other = The pupil said: something else

## Pupils asked for a page (from the block page)

console-asks = Pupils asked for
console-no-asks = No requests.
console-approve = Allow for this lesson
console-approve-needs-lesson = Start a lesson in this room to allow it.
console-decline = Decline

## Machines (admin) and the audit log (DSL, admin)

console-machines = Machines
console-machine = Computer
console-last-heard = Last heard from
console-rules-version = Rules version (has / current)
console-state = State
console-satchel-version = Satchel version
console-silent = Silent for more than 10 minutes
console-outdated = Running outdated rules
console-never = Never
console-outbox = Outbox
console-outbox-counts = { $waiting } waiting, { $damaged } set aside
console-set-aside = Items it could not send: run satchel status on it
console-machines-summary = Computers: { $total }. Silent for more than 10 minutes: { $silent }. Running outdated rules: { $outdated }.
console-retire = Retire
console-retire-confirm = Retire this computer? It stops getting rules and cannot send reports until it is enrolled again. Its reports stay.
console-audit = Audit log
console-who = Who
console-what = What

## Profiles (admin)

console-profiles = Profiles
console-profile-list = Allowed and blocked sites, one a line ([allow] and [block] sections)
console-search-engine = Search engine
console-export-list = Download as a list file
console-image-search = Pupils may open image search results
console-open-web = Open web: sites not on the list open too, except the categories below
console-blocked-categories = Blocked categories (open web; names from the category data, separated by commas)
console-no-screenshot = No screenshot: the computer could not take one.

## Rooms and accounts (admin)

console-admin = Rooms and accounts
console-new-code = New enrolment code
console-add-room = Add room
console-users = Staff accounts
console-role = Role
console-add-user = Add account
console-disable = Disable
console-disable-confirm = Disable this account? They are signed out at once and cannot sign in again. What they did stays in the audit log.
console-disabled = disabled
console-fingerprint = The server's certificate fingerprint (check it matches on the kiosk):
console-code-help = Use it on one kiosk within 24 hours: satchel enrol --server ADDRESS --code CODE --fingerprint FINGERPRINT. It is shown only now.
