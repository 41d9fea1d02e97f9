/* program_int.h -- what the parts of the program source share: a run, and the runs (program*.c only) */
#ifndef FCGI_SSE_SOURCES_PROGRAM_INT_H
#define FCGI_SSE_SOURCES_PROGRAM_INT_H

#include "core/log.h"
#include "sources/openai.h"
#include "sources/program.h"

/* A reader that takes nothing for this long is dropped (as a subscriber). */
#define PROGRAM_STALL_NS (30 * 1000000000LL)
/* Bytes of stdout read at once in chat mode: one chunk at most. */
#define PROGRAM_CHAT_READ 4096
/* The whole reply of a "stream": false request at most. */
#define PROGRAM_WHOLE_MAX (8u << 20)
/* A stderr line logged at most (longer ones are cut). */
#define PROGRAM_ERR_LINE 512

struct programs {
    struct program_params params;
    struct program *dead;              /* ended in this turn of the loop, freed after it */
    struct log_limit err_limit, warn_limit;
};

struct program {
    struct programs *rs;
    struct stream *s;
    enum program_mode mode;
    char name[65];                /* for the log */
    struct process *proc;            /* NULL once reaped */
    long pid;
    struct loop_io in, out, err;  /* fd -1 once closed */
    int out_watched;
    char *body;                   /* stdin still to write */
    size_t body_len, body_off;
    char *buf;                    /* stdout read, not yet an event */
    size_t len, cap;
    int cutting;                  /* discarding the rest of a cut line */
    char *pend;                   /* the event being written */
    size_t pend_len, pend_off;
    unsigned long long next_id;
    int exited, status, timed_out, ended, first_sent, too_long;
    int not_started;              /* the program could not be started (status PROGRAM_NOT_STARTED) */
    long long deadline;           /* --run-timeout, 0 = none */
    char *whole;                  /* PROGRAM_CHAT_WHOLE: the reply so far */
    size_t whole_len;
    struct openai_reply reply;
    char errline[PROGRAM_ERR_LINE];
    size_t errlen;
    int dead;
    struct program *next_dead;
};

/* program_output.c: what a run writes */
/* The next event from what stdout gave into pend: 1 when one was made,
 * 0 when there is none yet, -1 on ENOMEM. */
int program_next_event(struct program *u);
/* The end of the response into pend, once stdout is closed, the program
 * reaped and everything written: 1 when made, -1 on ENOMEM. */
int program_end_event(struct program *u);

#endif
