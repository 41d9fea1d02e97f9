/* cli.c -- the commands of the fcgi-sse binary: `fcgi-sse sign`, `fcgi-sse publish` and `fcgi-sse channel` */
#include "config.h"

#include "cli/cli_int.h"

#include <string.h>

int cli_main(int argc, char **argv)
{
    if (argc < 2 || !argv[1])
        return -1;
    if (strcmp(argv[1], "sign") == 0)
        return cli_sign(argc, argv);
    if (strcmp(argv[1], "publish") == 0)
        return cli_publish(argc, argv);
    if (strcmp(argv[1], "channel") == 0)
        return cli_channel(argc, argv);
    return -1;
}
