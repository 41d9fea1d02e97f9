#!/bin/sh
# install-deps.sh -- installs the Debian packages a task needs: build, demo or test.
#
# Usage: deploy/install-deps.sh build|demo|test|bench|fuzz ...
# Installs only what is missing (apt-get update first, as on a fresh machine).
# Web servers are installed without being started (policy-rc.d): the demo and
# the tests start their own instances on loopback ports with their own configs.
set -eu

pkgs=""
for what in "$@"; do
    case "$what" in
    build) pkgs="$pkgs gcc make autoconf automake pkg-config libfcgi-dev libsystemd-dev libc6-dev libjansson-dev libssl-dev libhiredis-dev libpcre2-dev libidn2-dev" ;;
    demo)  pkgs="$pkgs lighttpd spawn-fcgi openssl" ;;
    test|bench)
        # php-symfony-mercure, libapache2-mod-php, python3-jwt: Symfony's Mercure publisher,
        # a PHP site in Apache and independently signed tokens (test_mercure_fronts.py);
        # python3-cryptography: PyJWT's RSA, EC and EdDSA tokens (test_mercure.py); iptables:
        # silencing one Redis connection inside a test's own network namespace (test_redis_netns.py).
        # libapache2-mod-php's install switches the system's Apache to mpm_prefork; the
        # tests run Apache with configurations of their own, so none of them depends on it.
        pkgs="$pkgs lighttpd lighttpd-mod-deflate spawn-fcgi libfcgi-bin python3 procps iproute2 iptables systemd valgrind chromium curl nginx-light apache2 libapache2-mod-fcgid strace docker-compose docker.io debootstrap debhelper lintian fakeroot dpkg-dev redis-server redis-tools python3-redis python3-uritemplate php-cli php-symfony-mercure libapache2-mod-php python3-jwt python3-cryptography openssl prometheus"
        # node and npm run the seed baseline; a node installed otherwise is fine
        command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
        command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
        # nchan: the channels benchmark's and --fronts' reference (bench/bench.py)
        [ "$what" = test ] || pkgs="$pkgs libnginx-mod-nchan" ;;
    fuzz)  pkgs="$pkgs clang libclang-rt-14-dev" ;;
    *) echo "install-deps.sh: unknown group '$what' (build, demo, test, bench, fuzz)" >&2; exit 2 ;;
    esac
done

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: missing packages:$missing; run as root or install them" >&2
    exit 1
fi
echo "install-deps.sh: installing$missing"
# Keep packaged services from starting (and from taking port 80) while installing.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    made_policy=1
fi
status=0
{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing; } || status=$?
[ "$made_policy" = 1 ] && rm -f "$policy"
exit $status
