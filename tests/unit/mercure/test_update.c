/* test_update.c -- unit tests of update: the publish form read, every refusal with its status and a reason that does not quote the input, the stored text and back, the exact event bytes */
/* The forms are what publishers send (the drafts' example, Symfony's fields); the expected
 * wire bytes and stored texts are written out by hand from the SSE format and the
 * contract in update.h. Inputs that must be refused carry the marker SECRET so that a
 * reason quoting them is caught. */
#include "config.h"

#include "mercure/update.h"
#include "mercure/topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define HUB "https://example.com/.well-known/mercure"
#define HUB_ID "urn:uuid:018bcfe5-687b-7000-8000-000000000005"

static int form(struct update *u, const char *body, char *why, size_t whylen)
{
    return update_from_form(u, body, strlen(body), HUB, why, whylen);
}

/* The event of u (hub id HUB_ID) in buf, NUL-terminated; checks that update_wire_size is
 * its exact length and that one byte less is refused. */
static const char *wire(const struct update *u, char *buf, size_t cap)
{
    size_t size = update_wire_size(u, strlen(HUB_ID));
    long n = update_wire(buf, cap - 1, u, HUB_ID, strlen(HUB_ID));

    if (n < 0 || (size_t)n != size || update_wire(buf + 1, size - 1, u, HUB_ID,
                                                  strlen(HUB_ID)) != -1) {
        diag("wire: %ld bytes, size %zu", n, size);
        return "(size mismatch)";
    }
    n = update_wire(buf, cap - 1, u, HUB_ID, strlen(HUB_ID));
    buf[n] = '\0';
    return buf;
}

static int same(const char *got, const char *want, const char *what)
{
    if (!ok(strcmp(got, want) == 0, "%s", what))
        diag("got  [%s]\nwant [%s]", got, want);
    return strcmp(got, want) == 0;
}

static void test_accepted(void)
{
    struct update u;
    char why[256], buf[4096];
    int r;

    r = form(&u, "topic=https://example.com/foo&data=the%20content", why, sizeof why);
    ok(r == 0 && u.ntopics == 1 && strcmp(u.topics[0], "https://example.com/foo") == 0 &&
       u.topic_lens[0] == 23 && strcmp(u.data, "the content") == 0 && u.data_len == 11 &&
       !u.id && !u.type && !u.retry && !u.is_private, "the draft's example form (%s)", why);
    same(wire(&u, buf, sizeof buf), "id: " HUB_ID "\ndata: the content\n\n",
         "its event: the hub's id, one data line");
    update_free(&u);

    r = form(&u, "topic=a&topic=b+c&data=l1%0Al2%0D%0Al3%0Dl4%0A&id=my-id&type=t&retry=3000"
             "&private=on", why, sizeof why);
    ok(r == 0 && u.ntopics == 2 && strcmp(u.topics[1], "b c") == 0 && u.is_private &&
       u.retry == 3000 && strcmp(u.id, "my-id") == 0 && strcmp(u.type, "t") == 0,
       "every field (%s)", why);
    same(wire(&u, buf, sizeof buf), "event: t\nretry: 3000\nid: my-id\ndata: l1\ndata: l2\n"
         "data: l3\ndata: l4\ndata: \n\n",
         "event, retry, the publisher's id, data split at LF, CRLF and CR, a last empty line");
    update_free(&u);

    r = form(&u, "topic=x&data=", why, sizeof why);
    ok(r == 0 && u.data_len == 0, "empty data");
    same(wire(&u, buf, sizeof buf), "id: " HUB_ID "\ndata: \n\n", "one empty data line");
    update_free(&u);
    r = form(&u, "topic=x", why, sizeof why);
    ok(r == 0 && u.data && u.data_len == 0 && u.data[0] == '\0', "no data field: \"\"");
    same(wire(&u, buf, sizeof buf), "id: " HUB_ID "\ndata: \n\n", "and the same event");
    update_free(&u);

    r = form(&u, "topic=x&data=a%0Aid:%20forged%0Aevent:%20forged%0D%0A%0Adata:%20x", why,
             sizeof why);
    same(r == 0 ? wire(&u, buf, sizeof buf) : why, "id: " HUB_ID "\ndata: a\ndata: id: forged\n"
         "data: event: forged\ndata: \ndata: data: x\n\n",
         "data cannot forge a field or end the event");
    update_free(&u);

    r = form(&u, "to%70ic=a&Topic=b&topic=c&data=1&data=2&id=i1&id=i2&type=x&type=y&retry=5"
             "&retry=zz&other=%zz&private", why, sizeof why);
    ok(r == 0 && u.ntopics == 2 && strcmp(u.topics[0], "a") == 0 &&
       strcmp(u.topics[1], "c") == 0 && strcmp(u.data, "1") == 0 && strcmp(u.id, "i1") == 0 &&
       strcmp(u.type, "x") == 0 && u.retry == 5 && u.is_private,
       "names decoded, case-sensitive; the first of each field but topic counts; unknown "
       "fields ignored, bad escapes in them too; private without '=' (%s)", why);
    update_free(&u);

    r = form(&u, "topic=x&private=%zz", why, sizeof why);
    ok(r == 0 && u.is_private, "private's value is never read, not even decoded");
    update_free(&u);
    r = form(&u, "topic=x&private=", why, sizeof why);
    ok(r == 0 && u.is_private, "an empty private is private");
    update_free(&u);
    r = form(&u, "topic=x&privatex=on&Private=on", why, sizeof why);
    ok(r == 0 && !u.is_private, "other names are not private");
    update_free(&u);

    r = form(&u, "topic=x&retry=000000000000000042", why, sizeof why);
    ok(r == 0 && u.retry == 42, "a retry of 18 digits");
    update_free(&u);
    r = form(&u, "topic=x&retry=999999999999999999", why, sizeof why);
    ok(r == 0 && u.retry == 999999999999999999ULL, "the largest retry");
    same(wire(&u, buf, sizeof buf), "retry: 999999999999999999\nid: " HUB_ID "\ndata: \n\n",
         "its event");
    update_free(&u);

    r = form(&u, "topic=%E2%82%AC%C2%A0/books/1&topic=urn:isbn:1&topic=%2A%2A&topic=books%2Fx"
             "%3F&id=urn%3Auuid%3Ax&type=%C3%A9", why, sizeof why);
    ok(r == 0 && u.ntopics == 4 && strcmp(u.topics[0], "\xe2\x82\xac\xc2\xa0/books/1") == 0 &&
       strcmp(u.topics[2], "**") == 0 && strcmp(u.id, "urn:uuid:x") == 0,
       "UTF-8 topics, U+00A0, a URN, \"**\", a %%-encoded '/' (%s)", why);
    update_free(&u);
    r = form(&u, "&&topic=x&&", why, sizeof why);
    ok(r == 0 && u.ntopics == 1, "empty pairs are passed over");
    update_free(&u);
    r = form(&u, "topic=x;topic=y", why, sizeof why);
    ok(r == 0 && u.ntopics == 1 && strcmp(u.topics[0], "x;topic=y") == 0,
       "';' separates nothing (the URL Standard's parser)");
    update_free(&u);

    memset(&u, 0, sizeof u); /* the hub's own update, made by hand, with no data */
    u.ntopics = 1;
    u.topics[0] = "/.well-known/mercure/subscriptions/exact/a/b";
    u.topic_lens[0] = strlen(u.topics[0]);
    u.type = "mercure";
    u.type_len = 7;
    same(wire(&u, buf, sizeof buf), "event: mercure\nid: " HUB_ID "\ndata: \n\n",
         "an update made by hand with data NULL: one empty data line");
}

/* 1 when body is refused with status and a reason containing want that does not quote
 * the marker SECRET; *u is then empty. */
static void refused(const char *body, size_t len, int status, const char *want)
{
    struct update u;
    char why[256] = "unset";
    int r = update_from_form(&u, body, len, HUB, why, sizeof why);
    int empty = u.ntopics == 0 && u.mem == NULL && u.id == NULL && u.type == NULL;

    if (!ok(r == status && strstr(why, want) && !strstr(why, "SECRET") && !strchr(why, '\n') &&
            empty, "%d: %s", status, why))
        diag("got %d, want %d \"%s\"", r, status, want);
    update_free(&u);
    update_free(&u);
}

#define REFUSED(body, status, want) refused(body, sizeof body - 1, status, want)

static void test_refused(void)
{
    REFUSED("", 400, "no topic field");
    REFUSED("data=SECRET&id=x", 400, "no topic field");
    REFUSED("Topic=SECRET", 400, "no topic field");
    REFUSED("topic", 400, "topic 1 is empty");
    REFUSED("topic=a&topic=", 400, "topic 2 is empty");
    REFUSED("topic=*", 400, "topic 1 is the wildcard *");
    REFUSED("topic=a&topic=%2A", 400, "topic 2 is the wildcard *");
    REFUSED("topic=SECRET%E2%80%8B", 400, "topic 1 holds a format character (Unicode Cf)");
    REFUSED("topic=%EF%BB%BFSECRET", 400, "topic 1 holds a format character (Unicode Cf)");
    REFUSED("topic=SECRET%F3%A0%80%81", 400, "topic 1 holds a format character (Unicode Cf)");
    REFUSED("topic=SECRET%00", 400, "topic 1 holds a control character");
    REFUSED("topic=SECRET%0Aid:%20x", 400, "topic 1 holds a control character");
    REFUSED("topic=SECRET%C2%85", 400, "topic 1 holds a control character");
    REFUSED("topic=SECRET%7F", 400, "topic 1 holds a control character");
    REFUSED("topic=SECRET%FF", 400, "topic 1 is not UTF-8");
    REFUSED("topic=SECRET%ED%A0%80", 400, "topic 1 is not UTF-8");
    REFUSED("topic=SECRET%zz", 400, "topic 1 holds a '%' not followed by two hex digits");
    REFUSED("topic=SECRET%4", 400, "topic 1 holds a '%' not followed by two hex digits");
    REFUSED("topic=/.well-known/mercure/SECRET", 400, "topic 1 is in the hub's reserved namespace");
    REFUSED("topic=/.well-known/mercure", 400, "topic 1 is in the hub's reserved namespace");
    REFUSED("topic=x&topic=/.well-known/%256Dercure/subscriptions/SECRET", 400,
            "topic 2 is in the hub's reserved namespace");
    REFUSED("topic=/.well-known/mercure/../mercure/SECRET", 400,
            "topic 1 is in the hub's reserved namespace");
    REFUSED("topic=https://other.host/.well-known/mercure/subscriptions/SECRET", 400,
            "topic 1 is in the hub's reserved namespace");
    REFUSED("topic=x&id=", 400, "id is empty");
    REFUSED("topic=x&id", 400, "id is empty");
    REFUSED("topic=x&id=%23SECRET", 400, "id starts with '#'");
    REFUSED("topic=x&id=earliest", 400, "id is earliest, a reserved value");
    REFUSED("topic=x&id=SECRET%0Aevent:%20x", 400, "id holds a control character");
    REFUSED("topic=x&id=SECRET%0D", 400, "id holds a control character");
    REFUSED("topic=x&id=SECRET%E2%80%8E", 400, "id holds a format character (Unicode Cf)");
    REFUSED("topic=x&id=SECRET%C3", 400, "id is not UTF-8");
    REFUSED("topic=x&id=SECRET%", 400, "id holds a '%' not followed by two hex digits");
    REFUSED("topic=x&type=mercure", 400, "type mercure is reserved");
    REFUSED("topic=x&type=mercur%65", 400, "type mercure is reserved");
    REFUSED("topic=x&type=", 400, "type is empty");
    REFUSED("topic=x&type=SECRET%0D", 400, "type holds a control character");
    REFUSED("topic=x&type=SECRET%E2%81%A0", 400, "type holds a format character (Unicode Cf)");
    REFUSED("topic=x&retry=", 400, "retry is not 1 to 18 ASCII digits");
    REFUSED("topic=x&retry=SECRET", 400, "retry is not 1 to 18 ASCII digits");
    REFUSED("topic=x&retry=-1", 400, "retry is not 1 to 18 ASCII digits");
    REFUSED("topic=x&retry=+5", 400, "retry is not 1 to 18 ASCII digits");
    REFUSED("topic=x&retry=%205", 400, "retry is not 1 to 18 ASCII digits");
    REFUSED("topic=x&retry=1.5", 400, "retry is not 1 to 18 ASCII digits");
    REFUSED("topic=x&retry=%D9%A1", 400, "retry is not 1 to 18 ASCII digits");
    REFUSED("topic=x&retry=1000000000000000000", 400, "retry is not 1 to 18 ASCII digits");
    REFUSED("topic=x&data=SECRET%FF", 400, "data is not UTF-8");
    REFUSED("topic=x&data=SECRET%00", 400, "data holds a NUL character");
    REFUSED("topic=x&data=SECRET%G0", 400, "data holds a '%' not followed by two hex digits");
    REFUSED("topic=x&data=SECRET\0", 400, "the body holds a NUL byte");
}

/* Bounds: one over each is 413, exactly at it is accepted. */
static void test_bounds(void)
{
    static char big[2 * TOPIC_MAX + 64];
    size_t i, n = 0;


    for (i = 0; i <= UPDATE_TOPICS_MAX; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%stopic=t%zu", i ? "&" : "", i);
    refused(big, n, 413, "more than 64 topic fields");
    n = (size_t)(strrchr(big, '&') - big);
    {
        struct update u;
        char why[128];

        ok(update_from_form(&u, big, n, HUB, why, sizeof why) == 0 && u.ntopics == 64,
           "64 topics are accepted");
        update_free(&u);
        memcpy(big, "topic=", 6);
        memset(big + 6, 'S', TOPIC_MAX + 1);
        ok(update_from_form(&u, big, 6 + TOPIC_MAX, HUB, why, sizeof why) == 0 &&
           u.topic_lens[0] == TOPIC_MAX, "a topic of 4096 bytes is accepted");
        update_free(&u);
        refused(big, 6 + TOPIC_MAX + 1, 413, "topic 1 is longer than 4096 bytes");
        memcpy(big, "topic=x&id=", 11);
        memset(big + 11, 'S', UPDATE_ID_MAX + 1);
        ok(update_from_form(&u, big, 11 + UPDATE_ID_MAX, HUB, why, sizeof why) == 0 &&
           u.id_len == UPDATE_ID_MAX, "an id of 1024 bytes is accepted");
        update_free(&u);
        refused(big, 11 + UPDATE_ID_MAX + 1, 413, "id is longer than 1024 bytes");
        memcpy(big, "topic=x&type=", 13);
        memset(big + 13, 'S', UPDATE_TYPE_MAX + 1);
        ok(update_from_form(&u, big, 13 + UPDATE_TYPE_MAX, HUB, why, sizeof why) == 0 &&
           u.type_len == UPDATE_TYPE_MAX, "a type of 1024 bytes is accepted");
        update_free(&u);
        refused(big, 13 + UPDATE_TYPE_MAX + 1, 413, "type is longer than 1024 bytes");
    }
    /* The bound is on the decoded text: 4096 bytes written as 12288 are one topic. */
    n = 6;
    memcpy(big, "topic=", 6);
    for (i = 0; i < TOPIC_MAX / 2; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%%41");
    {
        struct update u;
        char why[128];

        ok(update_from_form(&u, big, n, HUB, why, sizeof why) == 0 &&
           u.topic_lens[0] == TOPIC_MAX / 2 && u.topics[0][0] == 'A',
           "the length bound is on the decoded topic");
        update_free(&u);
    }
}

static void round_trip(const char *body, const char *want, int hub_event)
{
    struct update u, v;
    char why[256] = "", *text = NULL, w1[1024], w2[1024];
    size_t len = 0, i;
    int r;

    if (hub_event) {
        /* The hub's own updates are not made from a form: built by hand here. */
        memset(&u, 0, sizeof u);
        u.ntopics = 1;
        u.topics[0] = body;
        u.topic_lens[0] = strlen(body);
        u.data = "{}";
        u.data_len = 2;
        u.type = "mercure";
        u.type_len = 7;
        u.is_private = 1;
        r = 0;
    } else {
        r = form(&u, body, why, sizeof why);
    }
    if (r == 0)
        r = update_store(&u, &text, &len);
    ok(r == 0 && len == strlen(want) && strcmp(text, want) == 0, "stored as %s (got %s)", want,
       text ? text : why);
    r = text ? update_load(&v, text, len, why, sizeof why) : -1;
    if (!ok(r == 0, "loaded back (%s)", why))
        return;
    r = v.ntopics == u.ntopics && v.data_len == u.data_len &&
        memcmp(v.data, u.data, u.data_len) == 0 && v.data[v.data_len] == '\0' &&
        !v.id == !u.id && (!v.id || strcmp(v.id, u.id) == 0) && !v.type == !u.type &&
        (!v.type || strcmp(v.type, u.type) == 0) && v.retry == u.retry &&
        v.is_private == u.is_private;
    for (i = 0; r && i < u.ntopics; i++)
        r = v.topic_lens[i] == u.topic_lens[i] && strcmp(v.topics[i], u.topics[i]) == 0;
    ok(r, "every field is the same after the round trip");
    ok(strcmp(wire(&u, w1, sizeof w1), wire(&v, w2, sizeof w2)) == 0, "and so is the event");
    free(text);
    if (!hub_event)
        update_free(&u);
    update_free(&v);
}

static void load_refused(const char *text, const char *want)
{
    struct update u;
    char why[256] = "unset";
    int r = update_load(&u, text, strlen(text), why, sizeof why);

    if (!ok(r == -1 && strstr(why, want) && strncmp(why, "stored update: ", 15) == 0 &&
            u.mem == NULL && u.ntopics == 0,
            "stored text refused: %s", why))
        diag("text %s, want \"%s\"", text, want);
    update_free(&u);
}

static void test_store(void)
{
    static char many[2048];
    size_t i, n;

    round_trip("topic=a&topic=b&data=l1%0Al2%0D%0Al3%0Dl4%0A%22%5C%2F&id=my-id&type=t&"
               "retry=3000&private=on",
               "{\"t\":[\"a\",\"b\"],\"d\":\"l1\\nl2\\r\\nl3\\rl4\\n\\\"\\\\/\",\"i\":\"my-id\","
               "\"y\":\"t\",\"r\":3000,\"p\":true}", 0);
    round_trip("topic=https://example.com/books/1", "{\"t\":[\"https://example.com/books/1\"],"
               "\"d\":\"\"}", 0);
    round_trip("topic=%E2%82%AC&data=%C3%A9%09x", "{\"t\":[\"\xe2\x82\xac\"],\"d\":"
               "\"\xc3\xa9\\tx\"}", 0);
    round_trip("/.well-known/mercure/subscriptions/exact/a/b",
               "{\"t\":[\"/.well-known/mercure/subscriptions/exact/a/b\"],\"d\":\"{}\","
               "\"y\":\"mercure\",\"p\":true}", 1);

    load_refused("", "not a JSON object");
    load_refused("[1]", "not a JSON object");
    load_refused("{\"t\":[\"a\"],\"t\":[\"b\"]}", "not a JSON object");
    load_refused("{\"d\":\"x\"}", "t is not 1 to 64 topics");
    load_refused("{\"t\":[]}", "t is not 1 to 64 topics");
    load_refused("{\"t\":\"a\"}", "t is not 1 to 64 topics");
    load_refused("{\"t\":[1]}", "topic 1 is not a string");
    load_refused("{\"t\":[\"a\",\"*\"]}", "topic 2 is the wildcard *");
    load_refused("{\"t\":[\"a\\nb\"]}", "topic 1 holds a control character");
    load_refused("{\"t\":[\"a\\u200bb\"]}", "topic 1 holds a format character");
    load_refused("{\"t\":[\"\"]}", "topic 1 is empty");
    load_refused("{\"t\":[\"a\\u0000b\"]}", "not a JSON object");
    load_refused("{\"t\":[\"a\"],\"d\":1}", "d, i or y is not a string");
    load_refused("{\"t\":[\"a\"],\"i\":null}", "d, i or y is not a string");
    load_refused("{\"t\":[\"a\"],\"i\":\"#1\"}", "id starts with '#'");
    load_refused("{\"t\":[\"a\"],\"i\":\"earliest\"}", "id is earliest");
    load_refused("{\"t\":[\"a\"],\"y\":\"\"}", "type is empty");
    load_refused("{\"t\":[\"a\"],\"y\":\"a\\rb\"}", "type holds a control character");
    load_refused("{\"t\":[\"a\"],\"r\":-1}", "r is not a retry");
    load_refused("{\"t\":[\"a\"],\"r\":\"5\"}", "r is not a retry");
    load_refused("{\"t\":[\"a\"],\"r\":1000000000000000000}", "r is not a retry");
    load_refused("{\"t\":[\"a\"],\"p\":1}", "p is not a boolean");
    n = (size_t)snprintf(many, sizeof many, "{\"t\":[");
    for (i = 0; i <= UPDATE_TOPICS_MAX; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%s\"t%zu\"", i ? "," : "", i);
    snprintf(many + n, sizeof many - n, "]}");
    load_refused(many, "t is not 1 to 64 topics");
    {
        struct update u;
        char why[64];

        const char *t = "{\"t\":[\"a\"],\"p\":false,\"x\":1}";

        ok(update_load(&u, t, strlen(t), why, sizeof why) == 0 &&
           !u.is_private && u.data_len == 0 && strcmp(u.data, "") == 0,
           "p false is public; no d is empty data; unknown members are ignored");
        update_free(&u);
    }
}

int main(void)
{
    test_accepted();
    test_refused();
    test_bounds();
    test_store();
    return done_testing();
}
