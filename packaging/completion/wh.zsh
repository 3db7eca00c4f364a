#compdef wh
# zsh completion for wh: verbs, the interfaces of running nodes, hostnames
# of a node's network, wh up's options.  `wh completion zsh` prints this
# file; packages install it as _wh in a directory of $fpath
# (/usr/share/zsh/vendor-completions on Debian).  The lists come from the
# wh being completed (the first word), so that they follow its version:
#   wh completion verbs | interfaces | hostnames IFACE | options VERB
_wh()
{
	local wh=${words[1]}
	local -a cands

	if (( CURRENT == 2 )); then
		cands=(${(f)"$($wh completion verbs 2>/dev/null)"})
		compadd -a cands
		return
	fi
	case ${words[2]} in
	show)
		if (( CURRENT == 3 )); then
			cands=(all json ${(f)"$($wh completion interfaces 2>/dev/null)"})
		else
			cands=(all light json)
		fi
		;;
	down|reload|inspect|metrics)
		(( CURRENT == 3 )) && cands=(${(f)"$($wh completion interfaces 2>/dev/null)"})
		;;
	lookup|ping|resolve)
		if (( CURRENT == 3 )); then
			cands=(${(f)"$($wh completion interfaces 2>/dev/null)"})
		elif (( CURRENT == 4 )); then
			cands=(${(f)"$($wh completion hostnames ${words[3]} 2>/dev/null)"})
		fi
		;;
	up)
		case ${words[CURRENT-1]} in
		private-key)
			_files
			return
			;;
		relay|portmap)
			cands=(on off)
			;;
		interface|listen-port|relay-limit)
			;;
		*)
			if (( CURRENT == 3 )); then
				_files
				return
			fi
			# relay-limit takes two numbers.
			[[ ${words[CURRENT-2]} == relay-limit ]] ||
				cands=(${(f)"$($wh completion options up 2>/dev/null)"})
			;;
		esac
		;;
	nc)
		# A first word that is no option is the listener's string.
		case ${words[CURRENT-1]} in
		boot|namespace|workbit|subnet|expires|timeout|listen-port)
			;;
		*)
			[[ ${words[CURRENT-2]} == boot ]] ||
				cands=(${(f)"$($wh completion options nc 2>/dev/null)"})
			;;
		esac
		;;
	client-config)
		case ${words[CURRENT-1]} in
		private-key-out|qr-out)
			_files
			return
			;;
		public-key|relay|keepalive)
			;;
		*)
			if (( CURRENT == 3 )); then
				cands=(${(f)"$($wh completion interfaces 2>/dev/null)"})
			elif (( CURRENT == 4 )); then
				cands=(${(f)"$($wh completion hostnames ${words[3]} 2>/dev/null)"})
			else
				cands=(${(f)"$($wh completion options client-config 2>/dev/null)"})
			fi
			;;
		esac
		;;
	genkey)
		cands=(workbit namespace threads)
		;;
	workbit|orchid)
		cands=(namespace)
		;;
	completion)
		cands=(bash zsh)
		;;
	wireguard)
		cands=(-f)
		;;
	esac
	compadd -a cands
}

# Autoloaded from $fpath, the file is the function's body; sourced
# (`source <(wh completion zsh)`, after compinit), it registers itself.
if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
	_wh "$@"
else
	compdef _wh wh
fi
