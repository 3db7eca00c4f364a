/* The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s test vector, as C data.
 *
 * Source: mcginty/snow, tests/vectors/cacophony.txt at commit 8ac60f5,
 * entry "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s" (copied to
 * shared/vectors/noise-ikpsk2-25519-chachapoly-blake2s.json).
 *
 * Messages alternate initiator -> responder first: 0 is the initiation
 * (e || enc(s) || enc(payload)), 1 the response (e || enc(payload)), 2-5
 * transport messages with each direction's nonce counting from 0. */
#ifndef WH_TEST_WG_NOISE_VECTOR_H
#define WH_TEST_WG_NOISE_VECTOR_H

struct noise_vector_message {
	const char *payload;
	const char *ciphertext;
};

static const struct noise_vector {
	const char *protocol_name;
	const char *prologue;
	const char *psk;
	const char *init_static;
	const char *init_ephemeral;
	const char *init_remote_static;
	const char *resp_static;
	const char *resp_ephemeral;
	const char *handshake_hash;
	struct noise_vector_message messages[6];
} noise_vector = {
	.protocol_name = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s",
	.prologue = "4a6f686e2047616c74",
	.psk = "54686973206973206d7920417573747269616e20706572737065637469766521",
	.init_static = "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
	.init_ephemeral = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
	.init_remote_static = "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62",
	.resp_static = "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
	.resp_ephemeral = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
	.handshake_hash = "f5191b875290abcd41347ac3622d9679688a7e980229cb937ef748336cfde0e5",
	.messages = {
		{ "4c756477696720766f6e204d69736573",
		  "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
		  "001e21de9f98ddd8e2ad57527207feb56253c9c94a9e496782ecfcb2a75fbcaf"
		  "1b52948cc48daefe660c62119ab5000980c84831215f2441eba616548e832985"
		  "464cf17e51ee93109008399a21f7e13f" },
		{ "4d757272617920526f746862617264",
		  "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843"
		  "cb765f2caef0751b8f007572dab0322217755c0632f365717edbf34d33e87a" },
		{ "462e20412e20486179656b",
		  "8153ca9833bc3c1b91a7e66e5f4d4f5b59bf9e64c2f20d15f0bba7" },
		{ "4361726c204d656e676572",
		  "07af0c9c86e1b4e80f36b04ff7688d51141af3debd0332f0a705ef" },
		{ "4a65616e2d426170746973746520536179",
		  "6ab1467c0448cc78394494abaaf23afce0e234315d6e2624dcbfa8a21c1c4d07"
		  "3d" },
		{ "457567656e2042f6686d20766f6e2042617765726b",
		  "dfc346c0d2296ae6cf1acf6f12b8456a1dba228cf8d8b774aacf1c47fc53aa80"
		  "ebc7a4c292" },
	},
};

#endif
