#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks that programs were linked hardened, from their ELF headers alone:
#   PIE            ELF type DYN and DT_FLAGS_1 PIE (ASLR for the executable)
#   full RELRO     a GNU_RELRO segment and BIND_NOW (GOT read-only after start)
#   stack guard    calls __stack_chk_fail (-fstack-protector-strong)
#   fortify        calls some __*_chk (-D_FORTIFY_SOURCE=2), when the first
#                  argument is "fortify" (optimised builds only)
#
# usage: hardening_check.sh fortify|nofortify PROGRAM...
# Exit 0 when every program passes every check; 1 with one line per failure.
set -u

if [ $# -lt 2 ]; then
	echo "usage: hardening_check.sh fortify|nofortify PROGRAM..." >&2
	exit 2
fi
fortify=$1
shift
if ! command -v readelf >/dev/null 2>&1; then
	echo "hardening_check: readelf not found (binutils)" >&2
	exit 1
fi

failures=0
fail() {
	echo "FAIL $1: $2"
	failures=$((failures + 1))
}

for prog in "$@"; do
	if [ ! -f "$prog" ]; then
		fail "$prog" "no such file"
		continue
	fi
	name=$(basename "$prog")
	header=$(readelf -h -W "$prog") || { fail "$name" "readelf -h failed"; continue; }
	dynamic=$(readelf -d -W "$prog")
	segments=$(readelf -l -W "$prog")
	symbols=$(readelf --dyn-syms -W "$prog")

	echo "$header" | grep -q 'Type:[[:space:]]*DYN' ||
		fail "$name" "not PIE (ELF type is not DYN)"
	echo "$dynamic" | grep -q 'FLAGS_1.*PIE' ||
		fail "$name" "not PIE (no PIE in DT_FLAGS_1)"
	echo "$segments" | grep -q 'GNU_RELRO' ||
		fail "$name" "no RELRO (no GNU_RELRO segment)"
	echo "$dynamic" | grep -Eq '\(FLAGS\).*BIND_NOW|FLAGS_1.*NOW' ||
		fail "$name" "partial RELRO only (no BIND_NOW)"
	echo "$symbols" | grep -q '__stack_chk_fail' ||
		fail "$name" "no stack protector (__stack_chk_fail not called)"
	if [ "$fortify" = fortify ]; then
		echo "$symbols" | grep -v '__stack_chk_fail' |
			grep -Eq '__[a-z0-9_]+_chk(@|[[:space:]]|$)' ||
			fail "$name" "not fortified (no __*_chk call)"
	fi
	echo "checked $name"
done

if [ "$failures" -ne 0 ]; then
	echo "hardening_check: $failures failure(s)"
	exit 1
fi
echo "hardening_check: $# program(s) hardened"
