/* The WireGuard core's version of its wire protocol, for logs and show. */
const char *wg_protocol_name(void);
const char *wg_protocol_name(void)
{
	return "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
}
