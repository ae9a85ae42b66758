# Satchel teacher console (English, UK): the reference for console.ftl. Staff read these:
# plain, short, the words a school uses (the incident form's own field names).

## Every page

console-nav = Console
console-lessons = Lessons
console-reports = Reports
console-logout = Log out
console-request-too-slow = What your browser sent took too long to arrive, so nothing was saved. Check the network connection and try again.

## Logging in

console-login-title = Log in to Satchel
console-name = Name
console-password = Password
console-login = Log in
console-wrong-login = That name and password do not match.
console-too-many-tries = Too many tries. Wait a little and try again, or ask the admin to reset the password.
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

## Passwords

console-change-password = Change password
console-password-must-change = You signed in with a one-time password. Choose your own password to go on.
console-password-current = Current password
console-password-new = New password
console-password-repeat = New password again
console-password-help = At least 10 characters. A short sentence is easy to remember and hard to guess.
console-password-mismatch = The two new passwords are not the same.
console-password-short = A password has 10 to 256 characters.
console-password-same = Choose a new password that is not your current one or your name.
console-password-wrong = Your current password is not right.
console-reset-password = Reset password
console-reset-confirm = Give this account a new one-time password? Its owner is signed out at once.
console-reset-own = Change your own password on the Change password page.
console-one-time-help = Give this one-time password to its owner. They choose their own when they first sign in.

## Pupils' requests, exactly

console-approve-cannot = This address cannot be allowed on its own (it is not one web page). Add the site to a lesson list instead.
console-approve-allows-host = Allowing this opens every page of this one site (not its other sites):
console-approve-allows-path = Allowing this opens this page, and the pages under it, on this one site:
console-approve-allows-page = Allowing this opens only this page:
console-approve-lesson-ended = The lesson in that room has ended, so nothing was allowed. The request is kept: start a lesson, then allow it.
console-ask-already-answered = Someone has already answered this request.

## Audit log pages

console-audit-every-action = Every action
console-show = Show
console-newer-entries = Newer entries
console-older-entries = Older entries

## Incident form history

console-history = { $count ->
    [one] One save
   *[other] { $count } saves
}
console-stale-save = Someone saved this report after you opened it, so your changes were not saved. The report as it is now is below, with what you typed: add your words to it and save again.
console-your-unsaved-text = What you typed (not saved)
