#!/bin/sh
# busybox udhcpc event script for the Neutron tests' VMs: on a lease, configure the interface
# as a cloud image's DHCP client does (address, MTU, default route) and print what the DHCP
# server gave, one line the test reads: "LEASE ip=... mask=... router=... mtu=... domain=...".
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    if [ -n "$mtu" ]; then ip link set dev "$interface" mtu "$mtu"; fi
    if [ -n "$router" ]; then ip route replace default via "$router" dev "$interface"; fi
    echo "LEASE ip=$ip mask=$mask router=$router mtu=$mtu domain=$domain serverid=$serverid"
    ;;
esac
exit 0
