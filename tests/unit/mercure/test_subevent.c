/* test_subevent.c -- unit tests of subevent: the drafts' subscription event topics and documents reproduced from their inputs, the subscriptions API's paths and collections */
/* The expected documents are the drafts' own examples, as they are printed there (the
 * current draft's "Subscription Events" and "Subscription API", the legacy draft's same
 * sections); each is rebuilt here from its inputs (matcher, type, subscriber, payload) and
 * printed in the examples' layout, one member a line, to be compared byte for byte. */
#include "config.h"

#include "mercure/subevent.h"
#include "mercure/topic.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define HUB_PATH "/.well-known/mercure"
#define SUB1 "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6"
#define SUB2 "urn:uuid:1e0cba4c-4bcd-44f0-ae8a-7b76f7ef1280"
#define SUB3 "urn:uuid:a6c49794-5f74-4723-999c-3a7e33e51d49"

/* ---- the drafts' examples, verbatim */
static const char current_event[] =
    "{\n"
    "   \"id\": \"/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2F%3Aselector/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6\",\n"
    "   \"type\": \"subscription\",\n"
    "   \"match_type\": \"urlpattern\",\n"
    "   \"match\": \"https://example.com/:selector\",\n"
    "   \"subscriber\": \"urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6\",\n"
    "   \"active\": true,\n"
    "   \"payload\": {\"foo\": \"bar\"}\n"
    "}\n";

static const char current_collection[] =
    "{\n"
    "   \"id\": \"/.well-known/mercure/subscriptions\",\n"
    "   \"type\": \"subscriptions\",\n"
    "   \"subscriptions\": [\n"
    "      {\n"
    "         \"id\": \"/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2F%3Aselector/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6\",\n"
    "         \"type\": \"subscription\",\n"
    "         \"match_type\": \"urlpattern\",\n"
    "         \"match\": \"https://example.com/:selector\",\n"
    "         \"subscriber\": \"urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6\",\n"
    "         \"active\": true,\n"
    "         \"payload\": {\"foo\": \"bar\"}\n"
    "      },\n"
    "      {\n"
    "         \"id\": \"/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Fa-topic/urn%3Auuid%3A1e0cba4c-4bcd-44f0-ae8a-7b76f7ef1280\",\n"
    "         \"type\": \"subscription\",\n"
    "         \"match\": \"https://example.com/a-topic\",\n"
    "         \"match_type\": \"exact\",\n"
    "         \"subscriber\": \"urn:uuid:1e0cba4c-4bcd-44f0-ae8a-7b76f7ef1280\",\n"
    "         \"active\": true,\n"
    "         \"payload\": {\"baz\": \"bat\"}\n"
    "      },\n"
    "      {\n"
    "         \"id\": \"/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2F%3Aselector/urn%3Auuid%3Aa6c49794-5f74-4723-999c-3a7e33e51d49\",\n"
    "         \"type\": \"subscription\",\n"
    "         \"match_type\": \"urlpattern\",\n"
    "         \"match\": \"https://example.com/:selector\",\n"
    "         \"subscriber\": \"urn:uuid:a6c49794-5f74-4723-999c-3a7e33e51d49\",\n"
    "         \"active\": true,\n"
    "         \"payload\": {\"foo\": \"bap\"}\n"
    "      }\n"
    "   ]\n"
    "}\n";

static const char legacy_event[] =
    "{\n"
    "   \"id\": \"/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%7Bselector%7D/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6\",\n"
    "   \"type\": \"Subscription\",\n"
    "   \"topic\": \"https://example.com/{selector}\",\n"
    "   \"subscriber\": \"urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6\",\n"
    "   \"active\": true,\n"
    "   \"payload\": {\"foo\": \"bar\"}\n"
    "}\n";

static const char legacy_collection[] =
    "{\n"
    "   \"@context\": \"https://mercure.rocks/\",\n"
    "   \"id\": \"/.well-known/mercure/subscriptions\",\n"
    "   \"type\": \"Subscriptions\",\n"
    "   \"lastEventID\": \"urn:uuid:5e94c686-2c0b-4f9b-958c-92ccc3bbb4eb\",\n"
    "   \"subscriptions\": [\n"
    "      {\n"
    "         \"id\": \"/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%7Bselector%7D/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6\",\n"
    "         \"type\": \"Subscription\",\n"
    "         \"topic\": \"https://example.com/{selector}\",\n"
    "         \"subscriber\": \"urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6\",\n"
    "         \"active\": true,\n"
    "         \"payload\": {\"foo\": \"bar\"}\n"
    "      },\n"
    "      {\n"
    "         \"id\": \"/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2Fa-topic/urn%3Auuid%3A1e0cba4c-4bcd-44f0-ae8a-7b76f7ef1280\",\n"
    "         \"type\": \"Subscription\",\n"
    "         \"topic\": \"https://example.com/a-topic\",\n"
    "         \"subscriber\": \"urn:uuid:1e0cba4c-4bcd-44f0-ae8a-7b76f7ef1280\",\n"
    "         \"active\": true,\n"
    "         \"payload\": {\"baz\": \"bat\"}\n"
    "      },\n"
    "      {\n"
    "         \"id\": \"/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%7Bselector%7D/urn%3Auuid%3Aa6c49794-5f74-4723-999c-3a7e33e51d49\",\n"
    "         \"type\": \"Subscription\",\n"
    "         \"topic\": \"https://example.com/{selector}\",\n"
    "         \"subscriber\": \"urn:uuid:a6c49794-5f74-4723-999c-3a7e33e51d49\",\n"
    "         \"active\": true,\n"
    "         \"payload\": {\"foo\": \"bap\"}\n"
    "      }\n"
    "   ]\n"
    "}\n";

/* ---- */

/* doc printed as the drafts print their examples: "{", one member a line indented by three
 * spaces ("key": value, the value on one line with ", " and ": " separators), "}". malloc'd. */
static char *print_like_draft(const json_t *doc)
{
    const char *key;
    json_t *v;
    char *out = NULL, *line;
    size_t len = 0, n = json_object_size(doc), i = 0;
    FILE *f = open_memstream(&out, &len);

    fputs("{\n", f);
    json_object_foreach((json_t *)doc, key, v) {
        line = json_dumps(v, JSON_ENCODE_ANY | JSON_INDENT(0));
        fprintf(f, "   \"%s\": %s%s\n", key, line, ++i < n ? "," : "");
        free(line);
    }
    fputs("}\n", f);
    fclose(f);
    return out;
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);

    if (!j) {
        fprintf(stderr, "test JSON: %s\n", e.text);
        abort();
    }
    return j;
}

/* A subscription as the hub holds it. */
static struct subevent_sub sub(enum sel_gen gen, const char *type, const char *match,
                               const char *subscriber, json_t *payload)
{
    struct subevent_sub s = { gen, type, match, strlen(match), subscriber, 1, payload };

    return s;
}

/* The example's "id" member, which the topic must be. */
static const char *example_id(const char *example, char *buf, size_t cap)
{
    json_t *j = parse(example);

    snprintf(buf, cap, "%s", json_string_value(json_object_get(j, "id")));
    json_decref(j);
    return buf;
}

static void test_events(void)
{
    json_t *payload = parse("{\"foo\": \"bar\"}"), *doc;
    struct subevent_sub s;
    char *topic, *text, id[512];

    s = sub(SEL_CURRENT, "urlpattern", "https://example.com/:selector", SUB1, payload);
    topic = subevent_topic(&s, HUB_PATH);
    ok(topic && strcmp(topic, example_id(current_event, id, sizeof id)) == 0 &&
       strcmp(topic, "/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com"
              "%2F%3Aselector/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6") == 0,
       "current: the event's topic, byte for byte (%s)", topic);
    doc = subevent_doc(&s, HUB_PATH);
    text = doc ? print_like_draft(doc) : NULL;
    if (!ok(text && strcmp(text, current_event) == 0,
            "current: the event's document, byte for byte as the draft prints it"))
        diag("got\n%s", text ? text : "(null)");
    ok(doc && json_object_get(doc, "payload") != payload &&
       json_equal(json_object_get(doc, "payload"), payload), "the payload is a copy");
    free(text);
    free(topic);
    json_decref(doc);

    s = sub(SEL_LEGACY, NULL, "https://example.com/{selector}", SUB1, payload);
    topic = subevent_topic(&s, HUB_PATH);
    ok(topic && strcmp(topic, example_id(legacy_event, id, sizeof id)) == 0,
       "legacy: the event's topic, byte for byte (%s)", topic);
    doc = subevent_doc(&s, HUB_PATH);
    ok(doc && strcmp(json_string_value(json_object_iter_value(json_object_iter(doc))),
                     "https://mercure.rocks/") == 0 &&
       strcmp(json_object_iter_key(json_object_iter(doc)), "@context") == 0,
       "legacy: \"@context\" first, as the draft asks of a JSON-LD document");
    json_object_del(doc, "@context");
    text = doc ? print_like_draft(doc) : NULL;
    if (!ok(text && strcmp(text, legacy_event) == 0,
            "legacy: the rest of the document, byte for byte as the draft prints it"))
        diag("got\n%s", text ? text : "(null)");
    free(text);
    free(topic);
    json_decref(doc);

    s = sub(SEL_CURRENT, "exact", "a/b%2F?c&d#e f", "did:example:1/2", NULL);
    s.active = 0;
    topic = subevent_topic(&s, "/hub");
    doc = subevent_doc(&s, "/hub");
    ok(topic && strcmp(topic, "/hub/subscriptions/exact/a%2Fb%252F%3Fc%26d%23e%20f/"
                       "did%3Aexample%3A1%2F2") == 0,
       "each variable encoded once, '%%' too; the hub's own path (%s)", topic);
    text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    ok(text && strcmp(text, "{\"id\":\"/hub/subscriptions/exact/a%2Fb%252F%3Fc%26d%23e%20f/"
                      "did%3Aexample%3A1%2F2\",\"type\":\"subscription\",\"match_type\":"
                      "\"exact\",\"match\":\"a/b%2F?c&d#e f\",\"subscriber\":"
                      "\"did:example:1/2\",\"active\":false}") == 0,
       "inactive, no payload: %s", text);
    free(text);
    free(topic);
    json_decref(doc);
    json_decref(payload);
}

static void path_ok(const char *path, enum sel_gen gen, int depth, const char *type,
                    const char *match, const char *subscriber)
{
    struct subevent_path p;
    char why[256] = "";
    int r = subevent_path_parse(&p, path, strlen(path), gen, why, sizeof why);

    ok(r == 0 && p.depth == depth && strcmp(p.match_type, type) == 0 &&
       (match ? p.match && strcmp(p.match, match) == 0 && p.match_len == strlen(match)
              : !p.match) &&
       (subscriber ? p.subscriber && strcmp(p.subscriber, subscriber) == 0 &&
                     p.subscriber_len == strlen(subscriber) : !p.subscriber),
       "%s path \"%.90s\": depth %d (%s)", gen == SEL_CURRENT ? "current" : "legacy", path, depth,
       why);
    subevent_path_free(&p);
}

static void path_404(const char *path, size_t len, enum sel_gen gen, const char *want)
{
    struct subevent_path p;
    char why[256] = "unset";
    int r = subevent_path_parse(&p, path, len, gen, why, sizeof why);

    if (!ok(r == 404 && strstr(why, want) && !strstr(why, "SECRET") && !p.match &&
            !p.subscriber && p.depth == 0, "404: %s", why))
        diag("path %s: %d, want \"%s\"", path, r, want);
    subevent_path_free(&p);
}

#define PATH_404(path, gen, want) path_404(path, sizeof path - 1, gen, want)

static void test_paths(void)
{
    path_ok("", SEL_CURRENT, 0, "", NULL, NULL);
    path_ok("", SEL_LEGACY, 0, "", NULL, NULL);
    path_ok("/urlpattern/https%3A%2F%2Fexample.com%2F%3Aselector", SEL_CURRENT, 1, "urlpattern",
            "https://example.com/:selector", NULL);
    path_ok("/urlpattern/https%3A%2F%2Fexample.com%2F%3Aselector/urn%3Auuid%3Abb3de268-05b0-"
            "4c65-b44e-8f9acefc29d6", SEL_CURRENT, 2, "urlpattern",
            "https://example.com/:selector", SUB1);
    path_ok("/ex%61ct/a%252F+b/s", SEL_CURRENT, 2, "exact", "a%2F+b", "s");
    path_ok("/exact/*", SEL_CURRENT, 1, "exact", "*", NULL);
    path_ok("/https%3A%2F%2Fexample.com%2F%7Bselector%7D", SEL_LEGACY, 1, "",
            "https://example.com/{selector}", NULL);
    path_ok("/https%3A%2F%2Fexample.com%2F%7Bselector%7D/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-"
            "8f9acefc29d6", SEL_LEGACY, 2, "", "https://example.com/{selector}", SUB1);
    path_ok("/caf%C3%A9/%C2%A0", SEL_LEGACY, 2, "", "caf\xc3\xa9", "\xc2\xa0");

    PATH_404("/", SEL_CURRENT, "no subscriptions API resource has this path "
             "(/{match_type}/{match}[/{subscriber}])");
    PATH_404("/exact", SEL_CURRENT, "no subscriptions API resource has this path");
    PATH_404("/exact/SECRET/s/x", SEL_CURRENT, "no subscriptions API resource has this path");
    PATH_404("exact/SECRET", SEL_CURRENT, "no subscriptions API resource has this path");
    PATH_404("/SECRET/s/x", SEL_LEGACY, "no subscriptions API resource has this path "
             "(/{topic}[/{subscriber}])");
    PATH_404("/regex/SECRET", SEL_CURRENT, "the match type is neither exact nor urlpattern");
    PATH_404("/Exact/SECRET", SEL_CURRENT, "the match type is neither exact nor urlpattern");
    PATH_404("/SECRET/x", SEL_CURRENT, "the match type is neither exact nor urlpattern");
    PATH_404("//SECRET", SEL_CURRENT, "segment 1 of the path is empty");
    PATH_404("/exact//SECRET", SEL_CURRENT, "segment 2 of the path is empty");
    PATH_404("/exact/SECRET/", SEL_CURRENT, "segment 3 of the path is empty");
    PATH_404("/", SEL_LEGACY, "segment 1 of the path is empty");
    PATH_404("/exact/SECRET%zz", SEL_CURRENT, "segment 2 of the path is not percent-encoded text");
    PATH_404("/exact/SECRET%2", SEL_CURRENT, "segment 2 of the path is not percent-encoded text");
    PATH_404("/exact/SECRET%00", SEL_CURRENT, "segment 2 of the path is not a topic, matcher or "
             "subscriber");
    PATH_404("/exact/a/SECRET%E2%80%8B", SEL_CURRENT, "segment 3 of the path is not a topic");
    PATH_404("/SECRET%0A", SEL_LEGACY, "segment 1 of the path is not a topic");
    PATH_404("/SECRET%FF", SEL_LEGACY, "segment 1 of the path is not a topic");
    PATH_404("/exact/SECRET\0", SEL_CURRENT, "segment 2 of the path is not a topic");
    {
        static char big[3 * TOPIC_MAX + 16], want[TOPIC_MAX + 1];
        size_t i;

        memcpy(big, "/exact/", 7);
        for (i = 0; i < TOPIC_MAX + 1; i++)
            big[7 + i] = 'a';
        path_404(big, 7 + TOPIC_MAX + 1, SEL_CURRENT, "segment 2 of the path is not a topic");
        for (i = 0; i < TOPIC_MAX; i++)
            memcpy(big + 7 + 3 * i, "%41", 3);
        big[7 + 3 * TOPIC_MAX] = '\0';
        memset(want, 'A', TOPIC_MAX);
        want[TOPIC_MAX] = '\0';
        path_ok(big, SEL_CURRENT, 1, "exact", want, NULL);
        big[7 + 3 * TOPIC_MAX] = 'a';
        path_404(big, 7 + 3 * TOPIC_MAX + 1, SEL_CURRENT, "segment 2 of the path is too long");
    }
}

/* The topic of a subscription, cut after "{hub path}/subscriptions", reads back as it. */
static void test_round_trip(void)
{
    static const char *const matches[] = {
        "https://example.com/:selector", "a/b c%2F?d&e#f+g", "*", "caf\xc3\xa9/{x}", "urn:x:y",
    };
    struct subevent_path p;
    size_t i, good = 0, cut = strlen(HUB_PATH "/subscriptions");

    for (i = 0; i < 2 * sizeof matches / sizeof matches[0]; i++) {
        enum sel_gen gen = i % 2 ? SEL_LEGACY : SEL_CURRENT;
        struct subevent_sub s = sub(gen, i % 4 ? "exact" : "urlpattern", matches[i / 2], SUB2,
                                    NULL);
        char *topic = subevent_topic(&s, HUB_PATH);

        if (topic && subevent_path_parse(&p, topic + cut, strlen(topic) - cut, gen, NULL, 0) == 0 &&
            p.depth == 2 && strcmp(p.match, s.match) == 0 && strcmp(p.subscriber, SUB2) == 0 &&
            (gen == SEL_LEGACY || strcmp(p.match_type, s.type_name) == 0))
            good++;
        else
            diag("no round trip: %s", topic ? topic : "(null)");
        subevent_path_free(&p);
        free(topic);
    }
    ok(good == 2 * sizeof matches / sizeof matches[0],
       "every topic reads back as its path, in both generations");
}

/* The docs of the draft's collection examples, made from their inputs. */
static json_t *docs(enum sel_gen gen, int only_selector)
{
    const char *sel = gen == SEL_CURRENT ? "https://example.com/:selector"
                                         : "https://example.com/{selector}";
    json_t *p1 = parse("{\"foo\": \"bar\"}"), *p2 = parse("{\"baz\": \"bat\"}"),
           *p3 = parse("{\"foo\": \"bap\"}"), *a = json_array();
    struct subevent_sub s1 = sub(gen, "urlpattern", sel, SUB1, p1),
                        s2 = sub(gen, "exact", "https://example.com/a-topic", SUB2, p2),
                        s3 = sub(gen, "urlpattern", sel, SUB3, p3);

    json_array_append_new(a, subevent_doc(&s1, HUB_PATH));
    if (!only_selector)
        json_array_append_new(a, subevent_doc(&s2, HUB_PATH));
    json_array_append_new(a, subevent_doc(&s3, HUB_PATH));
    json_decref(p1);
    json_decref(p2);
    json_decref(p3);
    return a;
}

static void test_collections(void)
{
    json_t *want = parse(current_collection), *got, *w2;
    char *a, *b;

    got = subevent_collection(SEL_CURRENT, HUB_PATH "/subscriptions", "urn:uuid:x",
                              docs(SEL_CURRENT, 0));
    ok(got && json_equal(got, want), "current: the draft's collection document");
    a = got ? json_dumps(got, JSON_COMPACT) : NULL;
    ok(a && strncmp(a, "{\"id\":\"/.well-known/mercure/subscriptions\",\"type\":\"subscriptions\","
                    "\"subscriptions\":[{", 83) == 0 && !strstr(a, "lastEventID") &&
       !strstr(a, "@context"), "its members in order, no cursor in the body (%.60s...)", a);
    free(a);
    json_decref(got);
    json_decref(want);

    want = parse(legacy_collection);
    got = subevent_collection(SEL_LEGACY, HUB_PATH "/subscriptions",
                              "urn:uuid:5e94c686-2c0b-4f9b-958c-92ccc3bbb4eb", docs(SEL_LEGACY, 0));
    a = got ? json_dumps(got, JSON_COMPACT) : NULL;
    b = json_dumps(want, JSON_COMPACT);
    if (!ok(a && strcmp(a, b) == 0, "legacy: the draft's collection, byte for byte in compact "
            "form (members' @context dropped, as the draft prints them)"))
        diag("got  %s\nwant %s", a ? a : "(null)", b);
    free(a);
    free(b);
    json_decref(got);
    json_decref(want);

    got = subevent_collection(SEL_LEGACY, "/x", NULL, json_array());
    a = got ? json_dumps(got, JSON_COMPACT) : NULL;
    ok(a && strcmp(a, "{\"@context\":\"https://mercure.rocks/\",\"id\":\"/x\",\"type\":"
                   "\"Subscriptions\",\"lastEventID\":\"earliest\",\"subscriptions\":[]}") == 0,
       "legacy: an empty collection, lastEventID earliest when none (%s)", a);
    free(a);
    json_decref(got);
    w2 = docs(SEL_CURRENT, 1);
    got = subevent_collection(SEL_CURRENT, "/.well-known/mercure/subscriptions/urlpattern/"
                              "https%3A%2F%2Fexample.com%2F%3Aselector", NULL, w2);
    ok(got && json_array_size(json_object_get(got, "subscriptions")) == 2 &&
       json_object_get(got, "subscriptions") == w2, "one matcher's collection holds its docs");
    json_decref(got);
}

int main(void)
{
    test_events();
    test_paths();
    test_round_trip();
    test_collections();
    return done_testing();
}
