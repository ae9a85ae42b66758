#!/usr/bin/env bash
# Satchel demo (make demo): a school server with demo data on this machine and a kiosk
# enrolled to it. Prints the console's address and the teacher's login, then opens the kiosk;
# leaving the kiosk (Ctrl+Alt+Shift+T, PIN 1234) stops the server too.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release
state=target/demo
port=${SATCHEL_DEMO_PORT:-8470}
server="$bin/satchel-server --data $state/server"

if [ ! -f "$state/server/satchel.db" ]; then
    mkdir -p "$state"
    $server add-room "Class 1" > "$state/first-start.txt"
    $server add-lesson "Animals" --sites demo/lesson-animals.sites
    $server add-user teacher --role teacher --room "Class 1" > "$state/teacher-password.txt"
fi
$server --listen "127.0.0.1:$port" 2> "$state/server.log" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

if ! grep -q '^\[server\]' "$state/kiosk.toml" 2>/dev/null; then
    sed 's#^state_dir = .*#state_dir = "kiosk-state"#' demo/kiosk.toml > "$state/kiosk.toml"
    code=$($server enrol-code --room "Class 1" 2>/dev/null)
    $bin/satchel enrol --server "http://127.0.0.1:$port" --code "$code" --name "Demo kiosk" --config "$state/kiosk.toml"
fi

cat <<MESSAGE

  Satchel demo
  Teacher console:  http://127.0.0.1:$port/
  Teacher login:    teacher / $(cat "$state/teacher-password.txt")
  $(sed -n 's/.*admin.*password \(.*\)/Admin login:      admin \/ \1/p' "$state/first-start.txt")
  In the console, start the "Animals" lesson for Class 1: its sites appear on the kiosk's Home.
  The kiosk: leave with Ctrl+Alt+Shift+T and PIN 1234. Server log: $state/server.log

MESSAGE
$bin/satchel --config "$state/kiosk.toml"
