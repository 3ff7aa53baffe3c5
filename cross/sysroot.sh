# cross/sysroot.sh - per-target toolchain directory and sysroot (sourced by
# cross/build-all).  For each target: the musl gcc wrapper of musl-dev:ARCH,
# the binutils of the glibc cross toolchain under the musl triplet, a
# pkg-config wrapper that sees the sysroot only, the kernel uapi headers, and
# static libaio + libconfuse built from Debian's sources with the wrapper.
# Everything is cached under $CROSS_CACHE and rebuilt when its stamp changes.
# shellcheck shell=bash disable=SC2153  # MUSL, GNU, ... come from target_vars (lib.sh)

# bump when the way a sysroot is built changes: forces a rebuild
SYSROOT_RECIPE=2
SRC=$CROSS_CACHE/src

# deb-src for `apt-get source`: the first non-security deb stanza's mirror
add_deb_src() {
	if grep -rqsE '^[[:space:]]*(Types:.*deb-src|deb-src[[:space:]])' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		return 0
	fi
	local uri
	uri=$(awk '/^URIs:/ && !/security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	[ -n "$uri" ] || uri=$(awk '$1 == "deb" && !/security/ {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' \
		/etc/apt/sources.list 2>/dev/null || true)
	cat > /etc/apt/sources.list.d/aoexd-debian-src.sources <<-EOF
	# added by aoexd cross/build-all (apt-get source libaio libconfuse)
	Types: deb-src
	URIs: ${uri:-http://deb.debian.org/debian}
	Suites: bookworm bookworm-updates
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
}

fetch_libaio() {
	cd "$SRC" || return 1
	rm -rf libaio libaio-[0-9]* libaio_*
	apt-get source libaio			# orig + Debian patches
	local d
	d=$(find . -maxdepth 1 -type d -name 'libaio-[0-9]*' | head -n1)
	[ -n "$d" ] || { echo "apt-get source libaio left no libaio-* directory"; return 1; }
	mv "$d" libaio
	echo "${d#./libaio-}" > .libaio.ok
}

fetch_libconfuse() {
	cd "$SRC" || return 1
	rm -rf libconfuse libconfuse-[0-9]* libconfuse_*
	local d orig
	# bookworm's libconfuse_3.3-3.debian.tar.xz has been seen to 404: apt
	# then fails but keeps the orig tarball, which builds without the patches
	if ! apt-get source libconfuse; then
		orig=$(find . -maxdepth 1 -name 'libconfuse_*.orig.tar.*' | head -n1)
		[ -n "$orig" ] || { echo "apt-get source libconfuse failed and left no orig tarball"; return 1; }
		tar xf "$orig"
	fi
	d=$(find . -maxdepth 1 -type d -name 'libconfuse-[0-9]*' | head -n1)
	[ -n "$d" ] || { echo "no libconfuse-* directory after unpacking"; return 1; }
	mv "$d" libconfuse
	# the orig tarball is a git snapshot: no configure, no lexer.c
	[ -x libconfuse/configure ] || (cd libconfuse && autoreconf -fi)
	echo "${d#./libconfuse-}" > .libconfuse.ok
}

sources() {
	mkdir -p "$SRC"
	[ -e "$SRC/.libaio.ok" ] || step "apt-get source libaio" fetch_libaio
	[ -e "$SRC/.libconfuse.ok" ] || step "apt-get source libconfuse (+ autoreconf)" fetch_libconfuse
}

# toolchain ARCH: sets TC SYSROOT and puts TC first in PATH
toolchain() {
	target_vars "$1"
	local w=$CROSS_CACHE/$1 tool kh kasm
	TC=$w/tc SYSROOT=$w/sysroot
	mkdir -p "$TC" "$SYSROOT/include" "$SYSROOT/lib"
	command -v "$MUSL-gcc" > /dev/null || die "no $MUSL-gcc (package musl-dev:$DEBARCH, or musl-tools for x86_64)"
	# ./configure --host=$MUSL looks for $MUSL-ar, $MUSL-strip, ...
	for tool in ar ranlib strip nm objdump objcopy readelf ld as size; do
		ln -sfn "/usr/bin/$GNU-$tool" "$TC/$MUSL-$tool"
	done
	# PKG_PROG_PKG_CONFIG picks up $host-pkg-config: the sysroot's .pc only
	cat > "$TC/$MUSL-pkg-config" <<-EOF
	#!/bin/sh
	PKG_CONFIG_LIBDIR=$SYSROOT/lib/pkgconfig PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR= exec pkg-config "\$@"
	EOF
	chmod +x "$TC/$MUSL-pkg-config"
	# musl-dev has no kernel headers: linux/ asm/ asm-generic/ only, never
	# the glibc include directory
	if [ -d "/usr/$GNU/include/asm" ]; then kh=/usr/$GNU/include kasm=/usr/$GNU/include/asm
	else kh=/usr/include kasm=/usr/include/$GNU/asm; fi
	{ [ -d "$kh/linux" ] && [ -d "$kasm" ]; } || die "no kernel uapi headers for $GNU (linux-libc-dev-$DEBARCH-cross)"
	ln -sfn "$kh/linux" "$SYSROOT/include/linux"
	ln -sfn "$kasm" "$SYSROOT/include/asm"
	ln -sfn "$kh/asm-generic" "$SYSROOT/include/asm-generic"
	case ":$PATH:" in *":$TC:"*) ;; *) PATH=$TC:$PATH ;; esac
	export PATH
}

# Small binaries: -Os, and one section per function so that the static link
# with --gc-sections drops what aoexd never calls (most of libconfuse).
LIB_CFLAGS="-Os -ffunction-sections -fdata-sections"

build_libaio() {
	local b=$CROSS_CACHE/$ARCH/build/libaio
	rm -rf "$b"; mkdir -p "${b%/*}"
	cp -a "$SRC/libaio" "$b"
	# AR/RANLIB on the command line: `AR ?= ar` never overrides make's default
	make -C "$b/src" -j"$JOBS" ENABLE_SHARED=0 CC="$MUSL-gcc" AR="$GNU-ar" RANLIB="$GNU-ranlib" \
		CPPFLAGS="-isystem $SYSROOT/include" CFLAGS="$LIB_CFLAGS -Wall -Wno-cpp" \
		prefix="$SYSROOT" install
}

build_libconfuse() {
	local b=$CROSS_CACHE/$ARCH/build/libconfuse
	rm -rf "$b"; mkdir -p "$b"
	cd "$b" || return 1
	"$SRC/libconfuse/configure" --build="$BUILD_TRIPLET" --host="$MUSL" --prefix="$SYSROOT" \
		--disable-shared --enable-static --disable-nls --disable-examples \
		CC="$MUSL-gcc" CFLAGS="$LIB_CFLAGS" CPPFLAGS="-isystem $SYSROOT/include"
	make -j"$JOBS" -C src install
	make install-pkgconfigDATA
}

# sysroot ARCH: toolchain + static libraries, cached
sysroot() {
	ARCH=$1
	toolchain "$ARCH"
	local musl stamp
	musl=$(dpkg-query -W -f='${Version}' "musl-dev:$DEBARCH" 2>/dev/null || dpkg-query -W -f='${Version}' musl-dev)
	stamp="recipe=$SYSROOT_RECIPE libaio=$(cat "$SRC/.libaio.ok") libconfuse=$(cat "$SRC/.libconfuse.ok") musl=$musl gcc=$("$GNU-gcc" -dumpfullversion)"
	if [ -f "$SYSROOT/lib/libaio.a" ] && [ -f "$SYSROOT/lib/libconfuse.a" ] &&
	   [ -f "$SYSROOT/lib/pkgconfig/libconfuse.pc" ] && [ "$(cat "$SYSROOT/.stamp" 2>/dev/null)" = "$stamp" ]; then
		echo "# [$ARCH] sysroot cached ($SYSROOT)"
		return 0
	fi
	rm -f "$SYSROOT/.stamp"
	step "[$ARCH] libaio static ($MUSL-gcc)" build_libaio || return 1
	step "[$ARCH] libconfuse static ($MUSL-gcc)" build_libconfuse || return 1
	echo "$stamp" > "$SYSROOT/.stamp"
}
