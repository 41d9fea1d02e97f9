/* uuid.h -- the ids the Mercure hub makes: UUIDv7 carrying a message's MS-SEQ, and random UUIDv4 (pure) */
#ifndef FCGI_SSE_MERCURE_UUID_H
#define FCGI_SSE_MERCURE_UUID_H

#include <stddef.h>

/* "urn:uuid:" + 36 characters + NUL */
#define UUID_URN_MAX 46

/* Writes the update id of message id MS-SEQ (ms, seq): "urn:uuid:" and a version 7 UUID
 * (RFC 9562 5.7) whose 48-bit unix_ts_ms is ms and whose 74 bits of rand_a and rand_b hold
 * seq as a counter (rand_a: bits 73..62 of the 74-bit counter, rand_b: bits 61..0; seq <
 * 2^63 fits), version 0111, variant 10; lower-case hex. Time-ordered as ids are (ms, seq)
 * order. NUL-terminated into out (UUID_URN_MAX bytes). Returns its length (45). ms must be
 * below 2^48. (Two numbers, not http/msgid.h's struct: mercure/ and http/ are one layer.) */
size_t uuid_from_msgid(char *out, unsigned long long ms, unsigned long long seq);

/* Reads back what uuid_from_msgid wrote: s[0, len) must be "urn:uuid:" (case-insensitive)
 * and a version 7, variant 10 UUID in hex (either case), with hyphens at 8-4-4-4-12, whose
 * counter is below 2^63; 0 with *ms and *seq, or -1 (not such a UUID: a publisher's id,
 * or garbage). */
int uuid_to_msgid(const char *s, size_t len, unsigned long long *ms, unsigned long long *seq);

/* Writes "urn:uuid:" and a version 4 UUID made of 16 random bytes (RFC 9562 5.4: version
 * and variant bits set over them). Returns its length (45). */
size_t uuid_v4(char *out, const unsigned char rnd[16]);

#endif
