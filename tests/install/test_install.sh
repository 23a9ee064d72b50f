#!/usr/bin/env bash
# `meson install` into a temporary DESTDIR, then consumers built out of tree
# with nothing but pkg-config against what was installed:
#  * the layout: zcrxd and the example consumers in bindir, libzcrx.so.N
#    (soname: the wire protocol version, proto.h's kVersion) and libzcrx.a
#    in libdir, the public headers in include/zcrx, libzcrx.pc, the docs in
#    share/doc/zcrx-dpdk;
#  * a C and a C++ consumer (consumer_c.c, consumer_cxx.cpp), each linked
#    once with `pkg-config --libs libzcrx` (shared, run from the DESTDIR)
#    and once with `pkg-config --static --libs libzcrx` (libzcrx.a: its
#    Libs.private must bring the C++ runtime), each run against the
#    installed zcrxd replaying a pcap_gen file through net_pcap: every
#    datagram exactly once, every byte checked, every buffer back;
#  * the installed example source zcrx_rx_c.c builds the same way, and
#    every installed header compiles on its own (zcrx.h also as C99);
# SKIP (77) without pkg-config, a C or C++ compiler, or meson.
# Arguments: the build directory, this directory.
set -u
unset LD_LIBRARY_PATH  # meson test points it at the build tree
. "$(dirname "$0")/../integration/zcrxd_lib.sh"
build=$1
here=$2
N=2000
size=1400
for tool in pkg-config cc c++ meson readelf; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not found"; exit 77; }
done
dir=$(mktemp -d /tmp/zcrx-install-XXXXXX)
root=$dir/root
zpid=
cleanup() {
  [ -n "$zpid" ] && kill -INT "$zpid" 2>/dev/null && wait "$zpid" 2>/dev/null
  rm -rf "$dir" "/var/run/dpdk/zcrxinst$$"
}
trap cleanup EXIT
fail=0
check() { "$@" || { echo "FAIL: $*"; fail=1; }; }

meson install -C "$build" --destdir "$root" --no-rebuild --quiet >"$dir/install.log" 2>&1 ||
  { echo "FAIL: meson install"; cat "$dir/install.log"; exit 1; }

opts=$(meson introspect --buildoptions "$build")
opt() { python3 -c "import json,sys; print(next(o['value'] for o in json.load(sys.stdin) if o['name']=='$1'))" <<<"$opts"; }
prefix=$(opt prefix)
libdir=$(opt libdir); [ "${libdir#/}" = "$libdir" ] && libdir=$prefix/$libdir
bindir=$(opt bindir); [ "${bindir#/}" = "$bindir" ] && bindir=$prefix/$bindir
incdir=$(opt includedir); [ "${incdir#/}" = "$incdir" ] && incdir=$prefix/$incdir
datadir=$(opt datadir); [ "${datadir#/}" = "$datadir" ] && datadir=$prefix/$datadir
proto=$(sed -n 's/^inline constexpr uint16_t kVersion = \([0-9]*\);.*/\1/p' \
  "$here/../../ringabi/include/zcrx/proto.h")

# ---- layout ------------------------------------------------------------------
for b in zcrxd zcrxctl zcrx_rx zcrx_rx_c zcrx_tcp pcap_gen; do check test -x "$root$bindir/$b"; done
check test -f "$root$libdir/libzcrx.a"
check test -L "$root$libdir/libzcrx.so"
check test -e "$root$libdir/libzcrx.so.$proto"
soname=$(readelf -d "$root$libdir/libzcrx.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libzcrx.so.$proto" ] || { echo "FAIL: soname '$soname', want libzcrx.so.$proto"; fail=1; }
for h in zcrx.h client.h socket.h proto.h ring_layout.h ring.h uapi.h pattern.h compat/sockets.h compat/liburing.h compat/liburing/io_uring.h; do
  check test -f "$root$incdir/zcrx/$h"
done
for d in README.md ARCHITECTURE.md OPERATIONS.md examples/zcrx_rx/zcrx_rx_c.c; do
  check test -f "$root$datadir/doc/zcrx-dpdk/$d"
done

# ---- pkg-config ----------------------------------------------------------------
export PKG_CONFIG_SYSROOT_DIR=$root
export PKG_CONFIG_PATH=$root$libdir/pkgconfig
export PKG_CONFIG_LIBDIR=$root$libdir/pkgconfig  # nothing from the system's
check test -f "$root$libdir/pkgconfig/libzcrx.pc"
pcv=$(pkg-config --variable=proto_version libzcrx)
[ "$pcv" = "$proto" ] || { echo "FAIL: libzcrx.pc proto_version '$pcv', want $proto"; fail=1; }
cflags=$(pkg-config --cflags libzcrx) || { echo "FAIL: pkg-config --cflags"; exit 1; }
libs=$(pkg-config --libs libzcrx)
slibs=$(pkg-config --static --libs libzcrx)
echo "pkg-config: cflags '$cflags' libs '$libs' static '$slibs'"
# The static flags name the archive explicitly (a plain -lzcrx prefers the
# .so); everything else comes from the .pc.
slibs=${slibs/-lzcrx/-l:libzcrx.a}

cd "$dir"
build_one() {  # name compiler std source libs
  "$2" -std="$3" -Wall -Wextra -Werror -O1 $cflags -o "$1" "$4" $5 2>"$1.err" ||
    { echo "FAIL: build $1"; cat "$1.err"; fail=1; return 1; }
}
build_one c_shared cc c11 "$here/consumer_c.c" "$libs"
build_one c_static cc c11 "$here/consumer_c.c" "$slibs"
build_one cxx_shared c++ c++20 "$here/consumer_cxx.cpp" "$libs"
build_one cxx_static c++ c++20 "$here/consumer_cxx.cpp" "$slibs"
build_one example_c cc c11 "$root$datadir/doc/zcrx-dpdk/examples/zcrx_rx/zcrx_rx_c.c" "$libs"
# A kernel-zcrx program, unchanged, through libzcrx-uring.pc: its
# <liburing.h> is libzcrx's (the system's liburing has no zcrx names, so
# picking that one up fails the build), and the socket shim is installed.
ucflags=$(pkg-config --cflags libzcrx-uring) || { echo "FAIL: pkg-config libzcrx-uring"; exit 1; }
ulibs=$(pkg-config --libs libzcrx-uring)
shim=$(pkg-config --variable=sockets_shim libzcrx-uring)
[ "${shim#"$root"}" = "$shim" ] && shim=$root$shim  # pkgconf adds the sysroot itself
check test -f "$shim"
# libzcrx itself defines no liburing name (a program linking both, as
# zcrxd does, must get liburing's); libzcrx-uring does.
readelf --dyn-syms -W "$root$libdir/libzcrx.so" | grep -q ' io_uring_' &&
  { echo "FAIL: libzcrx.so exports io_uring_* symbols"; fail=1; }
cflags="$ucflags" build_one uring_tcp_server cc gnu11 "$here/../../examples/uring_compat/zcrx_tcp_server.c" "$ulibs"
# Every installed header stands alone (C++20; zcrx.h also as C).
for h in zcrx.h client.h socket.h proto.h ring_layout.h ring.h uapi.h pattern.h compat/sockets.h; do
  echo "#include <zcrx/$h>" | c++ -std=c++20 -Wall -Wextra -Werror $cflags -fsyntax-only -x c++ - ||
    { echo "FAIL: zcrx/$h does not compile alone (C++)"; fail=1; }
done
echo "#include <zcrx/zcrx.h>" | cc -std=c99 -pedantic -Wall -Wextra -Werror $cflags -fsyntax-only -x c - ||
  { echo "FAIL: zcrx/zcrx.h does not compile alone (C99)"; fail=1; }
for s in c_static cxx_static; do
  [ -x "$s" ] && ldd "$s" | grep -q libzcrx && { echo "FAIL: $s needs libzcrx.so"; fail=1; }
done
[ -x c_shared ] && {
  LD_LIBRARY_PATH=$root$libdir ldd c_shared | grep -q "libzcrx.so.$proto => $root$libdir" ||
    { echo "FAIL: c_shared does not load the installed libzcrx.so.$proto"; fail=1; }
}
[ $fail -eq 0 ] || exit 1

# ---- run against the installed zcrxd -----------------------------------------
"$root$bindir/pcap_gen" --out "$dir/in.pcap" --count "$N" --size "$size" --ports 9000 \
  >/dev/null || { echo "FAIL: pcap_gen"; exit 1; }
for c in c_shared c_static cxx_shared cxx_static; do
  # The log goes first: the background redirection truncates it only once
  # the child runs, and the previous run's "ready" line must not count.
  rm -f "$dir/zcrxd.sock" "$dir/zcrxd.log"
  "$root$bindir/zcrxd" --no-huge -m 256 --no-pci --no-telemetry --file-prefix "zcrxinst$$" \
    -l 0 --log-level lib.eal:error --vdev "net_pcap0,rx_pcap=$dir/in.pcap" -- \
    --socket "$dir/zcrxd.sock" --rx-gate 1 >"$dir/zcrxd.log" 2>&1 &
  zpid=$!
  zcrxd_wait_ready "$c"
  LD_LIBRARY_PATH=$root$libdir timeout 60 "./$c" "$dir/zcrxd.sock" 9000 "$N" >"$dir/$c.out" 2>&1
  rc=$?
  kill -INT "$zpid"
  # zcrxd exits within a second of SIGINT; a hang is a failure, not a wait.
  for _ in $(seq 300); do kill -0 "$zpid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$zpid" 2>/dev/null; then
    echo "FAIL: zcrxd did not exit 30 s after SIGINT ($c)"; cat "$dir/zcrxd.log"
    kill -KILL "$zpid"; fail=1
  fi
  wait "$zpid"; zrc=$?; zpid=
  cat "$dir/$c.out"
  [ $rc -eq 0 ] || { echo "FAIL: $c exit $rc"; fail=1; }
  grep -q "ok datagrams=$N bytes=$((N * size))\$" "$dir/$c.out" ||
    { echo "FAIL: $c: not $N datagrams of $size B"; fail=1; }
  [ $zrc -eq 0 ] || { echo "FAIL: zcrxd exit $zrc ($c)"; cat "$dir/zcrxd.log"; fail=1; }
  grep -q "zcrxd: exit outstanding=0 missing=0" "$dir/zcrxd.log" ||
    { echo "FAIL: zcrxd buffers do not balance ($c)"; fail=1; }
done
[ $fail -eq 0 ] && echo "PASS: installed zcrxd + libzcrx (shared, static) with C and C++ consumers built by pkg-config, $N datagrams each, every byte verified"
exit $fail
