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

## Alerts: e-mails to the safeguarding leads, and how an alert is described.
console-mail-urgent-subject = Satchel: urgent alert
console-mail-urgent-intro = A pupil's search or page matched an urgent concerning term. Please look at it now.
console-mail-digest-subject = Satchel: today's alerts to review
console-mail-digest-intro = These searches and pages matched concerning terms at review level, or a machine had many pages blocked in a few minutes.
console-mail-open-console = Open Alerts in the Satchel console to see the pupil's session and to acknowledge each alert.
console-alert-when = When
console-alert-where = Room and machine
console-alert-category = Category
console-alert-words = Matched words
console-alert-text = Searched for or opened
console-alert-repeated-blocks = Pages blocked within five minutes

## What one computer may send, and removing junk (DSL, admin)

console-no-screenshot-quota = No screenshot: this computer had already sent its share of screenshots (200 MB), so the report was kept without it.
console-no-screenshot-disk = No screenshot: the server was short of disk space, so the report was kept without it.
console-name-too-long = An account name has at most 64 characters.
console-junk = Remove junk
console-junk-remove = Remove junk…
console-junk-help = Reports and requests each computer sent lately. If a computer sent junk (it went wrong, or someone used its identity), look at what it sent and remove it. Reports that someone has worked on always stay.
console-hours = Hours
console-junk-asks = Requests waiting
console-retired = retired
console-junk-none = No computer sent anything in that time.
console-junk-summary = Sent in the last { $hours } hours, to remove: reports { $reports }, requests { $asks }.
console-junk-kept = Reports that someone has worked on stay: { $kept }.
console-junk-more = And { $more } more not listed here.
console-junk-nothing = Nothing to remove.
console-junk-confirm = Remove these reports and requests for good? This cannot be undone, and it is written in the audit log.
console-junk-confirm-button = Remove them
console-junk-removed = Removed: reports { $reports }, requests { $asks }.

## Monitoring: the activity log, alerts and the school's own terms (DSL and admin), Room now.
console-activity = Activity
console-activity-words = Words in the address or search
console-activity-from = From
console-activity-to = To
console-activity-kind = What happened
console-activity-all = All
console-activity-search = Search
console-activity-export = Download these as CSV
console-activity-none = Nothing was found.
console-activity-what = Address or search
console-activity-session = Session
console-activity-timeline = Session timeline
console-activity-because = Because
console-activity-dropped-help = The machine could not send for a long time and its log was full: { $count } older events were lost.
console-activity-opened = Opened a page
console-activity-titled = Page title
console-activity-searched = Searched
console-activity-blocked = Blocked page
console-activity-subresources-blocked = Blocked parts of a page
console-activity-told = Told the teacher
console-activity-asked = Asked for a page
console-activity-session-start = Session started
console-activity-session-end = Session ended
console-activity-dropped = Events lost
console-alerts = Alerts
console-alerts-help = Searches and pages that matched a concerning term, and machines with many blocked pages in a few minutes. Urgent alerts appear here as they happen. Look at the session, act under your safeguarding policy, then write what you did.
console-alerts-dealt-with = Dealt with
console-alerts-none = No alerts.
console-alerts-note = What was done
console-alerts-acknowledge = Mark as dealt with
console-alerts-note-needed = Write what was done (up to 2,000 characters) before marking an alert as dealt with.
console-alerts-urgent = Urgent
console-alerts-review = Review
console-terms = The school's own terms
console-terms-help = Satchel's starter list (allowlists/alerts/) is a starting point: review it, and add the words your pupils use. Each change is written to the audit log.
console-terms-phrase = Words
console-terms-severity = Severity
console-terms-remove = Remove
console-terms-add = Add
console-terms-bad = A term has at least three letters (up to 200 characters), one of the categories and a severity.
console-room-now = Room now
console-room-now-help = Each computer in your rooms and the page it shows, as it changes.
console-room-now-none = No computers in your rooms yet.
console-room-now-home = Satchel's Home page
console-room-now-blocked = Last blocked:
console-alert-email = Alert e-mails to
console-email-bad = That is not an e-mail address: nothing was changed.

## Schools in a trust
console-school = School
console-schools = Schools
console-schools-help = Each school's safeguarding leads and admins see only their own school's rooms, reports, alerts, activity and computers. Accounts of the whole trust see every school.
console-whole-trust = Whole trust
console-school-choose = Choose a school: nothing was added.
console-school-own = You cannot move your own account to a school.
console-school-move = Move
console-school-move-confirm = Move this account? It will be signed out, and see only what its new school holds.
console-rename = Rename
console-add-school = Add school
console-terms-trust-keeps = The trust's safeguarding team keeps these terms: they apply to every school.
console-school-pick = Choose a school
console-showing = Showing
console-all-schools = All schools
console-show-school = Show
