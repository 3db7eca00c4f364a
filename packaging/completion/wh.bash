# bash completion for wh: verbs, the interfaces of running nodes,
# hostnames of a node's network, wh up's options.  `wh completion bash`
# prints this file; packages install it as
# /usr/share/bash-completion/completions/wh.  The lists come from the wh
# being completed (the first word), so that they follow its version:
#   wh completion verbs | interfaces | hostnames IFACE | options VERB
_wh()
{
	local wh=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD-1]} verb=${COMP_WORDS[1]}
	local IFS=$'\n' words=

	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		words=$("$wh" completion verbs 2>/dev/null)
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
		return 0
	fi
	case $verb in
	show)
		if ((COMP_CWORD == 2)); then
			words=$(printf 'all\njson\n'; "$wh" completion interfaces 2>/dev/null)
		else
			words=$(printf 'all\nlight\njson\n')
		fi
		;;
	down | reload | inspect | metrics)
		((COMP_CWORD == 2)) && words=$("$wh" completion interfaces 2>/dev/null)
		;;
	lookup | ping | resolve)
		if ((COMP_CWORD == 2)); then
			words=$("$wh" completion interfaces 2>/dev/null)
		elif ((COMP_CWORD == 3)); then
			words=$("$wh" completion hostnames "${COMP_WORDS[2]}" 2>/dev/null)
		fi
		;;
	up)
		case $prev in
		private-key)
			COMPREPLY=($(compgen -f -- "$cur"))
			return 0
			;;
		relay | portmap)
			words=$(printf 'on\noff\n')
			;;
		interface | listen-port | relay-limit) ;;
		*)
			if ((COMP_CWORD == 2)); then
				COMPREPLY=($(compgen -f -- "$cur"))
				return 0
			fi
			# relay-limit takes two numbers.
			[[ ${COMP_WORDS[COMP_CWORD-2]} == relay-limit ]] ||
				words=$("$wh" completion options up 2>/dev/null)
			;;
		esac
		;;
	nc)
		# A first word that is no option is the listener's string.
		case $prev in
		boot | namespace | workbit | subnet | expires | timeout | listen-port) ;;
		*) [[ ${COMP_WORDS[COMP_CWORD-2]} == boot ]] ||
			words=$("$wh" completion options nc 2>/dev/null) ;;
		esac
		;;
	client-config)
		case $prev in
		private-key-out | qr-out)
			COMPREPLY=($(compgen -f -- "$cur"))
			return 0
			;;
		public-key | relay | keepalive) ;;
		*)
			if ((COMP_CWORD == 2)); then
				words=$("$wh" completion interfaces 2>/dev/null)
			elif ((COMP_CWORD == 3)); then
				words=$("$wh" completion hostnames "${COMP_WORDS[2]}" 2>/dev/null)
			else
				words=$("$wh" completion options client-config 2>/dev/null)
			fi
			;;
		esac
		;;
	genkey)
		words=$(printf 'workbit\nnamespace\nthreads\n')
		;;
	workbit | orchid)
		words=namespace
		;;
	completion)
		words=$(printf 'bash\nzsh\n')
		;;
	wireguard)
		words=-f
		;;
	esac
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
	return 0
}
complete -F _wh wh
