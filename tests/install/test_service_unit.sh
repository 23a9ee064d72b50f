#!/usr/bin/env bash
# The systemd unit `meson install` puts in place: zcrxd.service in the unit
# directory and the example environment file in SYSCONFDIR/default/zcrxd;
# the unit starts the installed zcrxd with the installed environment file,
# has systemd create /run/zcrx (RuntimeDirectory) for the socket it names,
# and stops zcrxd with SIGTERM. `systemd-analyze verify` must accept it
# without a word (its ExecStart pointed at the DESTDIR copy of zcrxd, as
# verify checks that the command exists).
# SKIP (77) without systemd-analyze or meson.
# Arguments: the build directory.
set -u
build=$1
for tool in meson systemd-analyze; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not found: the unit cannot be verified"; exit 77; }
done
dir=$(mktemp -d /tmp/zcrx-unit-XXXXXX)
trap 'rm -rf "$dir"' EXIT
root=$dir/root
fail=0
meson install -C "$build" --destdir "$root" --no-rebuild --quiet >"$dir/install.log" 2>&1 ||
  { echo "FAIL: meson install"; cat "$dir/install.log"; exit 1; }
opts=$(meson introspect --buildoptions "$build")
opt() { python3 -c "import json,sys; print(next(o['value'] for o in json.load(sys.stdin) if o['name']=='$1'))" <<<"$opts"; }
prefix=$(opt prefix)
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
bindir=$(abs "$(opt bindir)")
sysconfdir=$(abs "$(opt sysconfdir)")
unitdir=$(opt systemd_unit_dir)
[ -n "$unitdir" ] || unitdir=$prefix/lib/systemd/system
unit=$root$unitdir/zcrxd.service
envfile=$sysconfdir/default/zcrxd
[ -f "$unit" ] || { echo "FAIL: $unitdir/zcrxd.service not installed"; exit 1; }
[ -f "$root$envfile" ] || { echo "FAIL: $envfile not installed"; fail=1; }
grep -qx "ExecStart=$bindir/zcrxd \$ZCRXD_EAL_ARGS -- --socket /run/zcrx/zcrxd.sock \$ZCRXD_ARGS" "$unit" ||
  { echo "FAIL: ExecStart does not run $bindir/zcrxd"; grep ExecStart "$unit"; fail=1; }
grep -qx "EnvironmentFile=-$envfile" "$unit" || { echo "FAIL: EnvironmentFile is not $envfile"; fail=1; }
grep -qx "RuntimeDirectory=zcrx" "$unit" || { echo "FAIL: no RuntimeDirectory=zcrx"; fail=1; }
grep -qx "KillSignal=SIGTERM" "$unit" || { echo "FAIL: not stopped by SIGTERM"; fail=1; }
# The example environment file sets what the unit reads, and nothing runs
# from it (it is sourced by systemd's rules, not a shell's).
grep -q '^ZCRXD_EAL_ARGS=' "$root$envfile" || { echo "FAIL: no ZCRXD_EAL_ARGS in $envfile"; fail=1; }
grep -q '^ZCRXD_ARGS=' "$root$envfile" || { echo "FAIL: no ZCRXD_ARGS in $envfile"; fail=1; }

mkdir "$dir/units"
sed "s|^ExecStart=$bindir/zcrxd|ExecStart=$root$bindir/zcrxd|" "$unit" >"$dir/units/zcrxd.service"
if ! systemd-analyze verify "$dir/units/zcrxd.service" >"$dir/verify.out" 2>&1 || [ -s "$dir/verify.out" ]; then
  echo "FAIL: systemd-analyze verify:"; cat "$dir/verify.out"; fail=1
fi
[ $fail -eq 0 ] && echo "PASS: zcrxd.service and $envfile installed; systemd-analyze verify accepts the unit"
exit $fail
