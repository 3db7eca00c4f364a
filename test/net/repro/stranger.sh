# shellcheck shell=bash
# The lab of the stranger's reproductions (reflect.sh, natobs.sh), sourced
# after lib.sh and natlab.sh with WH set:
#
#   internet 198.18.0.0/24: the boot nodes BOOTS (public DHT nodes), x
#                           (the stranger, test/tools/ovlforge), EXTRA hosts
#   gateway ga full-cone --- LAN: member a          member b: never up
#
# stranger_lab NAME "BOOTS" "EXTRA": keys of workbit 4 for the boot nodes,
# a, b and x; a network file NAME naming the boot nodes and trusting a and
# b; the boot nodes and a up.  stranger_get NODE show|inspect PATH: one
# value (lab_wh_get).
stranger_lab() {
	local name=$1 boots=$2 extra=$3 n
	natlab_internet
	for n in $boots x $extra; do natlab_public_host "$n" || exit 1; done
	natlab_gateway ga full-cone || exit 1
	natlab_host a ga || exit 1
	for n in $boots a b x; do
		"$WH" genkey workbit 4 >"$LAB_DIR/$n.key"
		"$WH" pubkey <"$LAB_DIR/$n.key" >"$LAB_DIR/$n.pub"
	done
	{
		echo "name $name"
		echo "subnet 198.19.0.0/16"
		echo "workbit 4"
		for n in $boots; do echo "boot $(cat "$LAB_DIR/$n.pub") ${NATLAB_IP[$n]}:62096"; done
		for n in a b; do echo "trust $n $(cat "$LAB_DIR/$n.pub")"; done
	} >"$LAB_DIR/net.conf"
	for n in $boots a; do
		natlab_spawn "${NATLAB_NS[$n]}" "$n" "$WH" up "$LAB_DIR/net.conf" \
			private-key "$LAB_DIR/$n.key" interface "$LAB_TAG$LAB_PID$n" -f
	done
}

stranger_get() { lab_wh_get "$WH" "${NATLAB_NS[$1]}" "$LAB_TAG$LAB_PID$1" "$2" "$3"; }
