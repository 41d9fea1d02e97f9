/* cli.h -- the commands `fcgi-sse sign` (a signed subscription query), `publish` and `channel` (FastCGI clients) */
#ifndef FCGI_SSE_CLI_CLI_H
#define FCGI_SSE_CLI_CLI_H

/* Runs the subcommand named by argv[1]:
 *
 *   sign --key-file F --expires SECONDS CHANNEL...
 *     prints "channel=A&channel=B&expires=T&sig=S" (T = now + SECONDS, the
 *     channels in the order given, S signed with the first key of F).
 *   publish --socket ADDR [--key-file F] CHANNEL [--event T] < MESSAGE
 *     sends the message (stdin, at most 1 MiB) as one FastCGI request
 *     POST /publish?channel=CHANNEL[&event=T] to the responder at ADDR
 *     (unix:/path, HOST:PORT, or :PORT for 127.0.0.1), with
 *     "Authorization: Bearer KEY" (the first key of F) when F is given;
 *     prints the answer's body (JSON) on a 200.
 *   channel --socket ADDR [--key-file F] [--delete | --purge] CHANNEL
 *     one FastCGI request to the responder at ADDR: GET /channels/CHANNEL
 *     (its figures), with --delete DELETE /channels/CHANNEL (its
 *     subscribers' streams end, its history goes), with --purge DELETE
 *     /channels/CHANNEL/history (its history goes); the key as publish's;
 *     prints the answer's body (JSON) on a 200.
 *
 * Returns -1 when argv[1] is not "sign", "publish" or "channel" (the caller goes
 * on as the responder); otherwise the process's exit status: 0 done, 1 a
 * failure (key file, connection, an answer other than 200: one line on
 * stderr, then the answer's body), 2 bad usage (one line on stderr).
 * Changes the process: publish and channel ignore SIGPIPE. Not reentrant. */
int cli_main(int argc, char **argv);

#endif
