/* Open vSwitch's own classifier (lib/classifier.c, as ofproto uses it for every OpenFlow
 * table) on the rule sets and keys that `classifier_cpu --export DIR` wrote, measured as
 * `classifier_cpu` measures ferrovs's: thread CPU time, best of 5 passes of 300 x 1024
 * lookups, each with a fresh megaflow mask (flow_wildcards), as ofproto's xlate asks.
 *
 * The classifier is set up as ofproto sets up a table: prefix tries on nw_dst and nw_src.
 * Rules are read with Open vSwitch's own flow parser (parse_ofp_str) and keys with
 * parse_ofp_exact_flow, so both switches are handed the same text.
 *
 * Usage: classifier_ovs DIR [CASE]   (CASE: "acl hit", "acl miss", "rand hit", "rand miss")
 * Built against the Open vSwitch source's libopenvswitch.a by
 * benches/scripts/classifier_vs_ovs.sh; not part of the Cargo workspace. */

#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classifier.h"
#include "flow.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/util.h"
#include "util.h"

#define N_PASSES 5
#define N_ROUNDS 300

static unsigned long long
cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (unsigned long long) ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Reads the lines of DIR/NAME (without their newlines) into a NULL-terminated array. */
static char **
read_lines(const char *dir, const char *name, size_t *n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        ovs_fatal(errno, "%s", path);
    }
    size_t cap = 1024;
    char **lines = xmalloc(cap * sizeof *lines);
    char *line = NULL;
    size_t len = 0;
    *n = 0;
    while (getline(&line, &len, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        if (*n + 1 >= cap) {
            cap *= 2;
            lines = xrealloc(lines, cap * sizeof *lines);
        }
        lines[(*n)++] = xstrdup(line);
    }
    lines[*n] = NULL;
    free(line);
    fclose(f);
    return lines;
}

static void
load_rules(struct classifier *cls, const char *dir, const char *set)
{
    static const enum mf_field_id prefix_fields[] = { MFF_IPV4_DST, MFF_IPV4_SRC };
    char name[64];
    size_t n;

    classifier_init(cls, flow_segment_u64s);
    classifier_set_prefix_fields(cls, prefix_fields, ARRAY_SIZE(prefix_fields));
    snprintf(name, sizeof name, "%s-rules.txt", set);
    char **lines = read_lines(dir, name, &n);
    for (size_t i = 0; i < n; i++) {
        struct ofputil_flow_mod fm;
        enum ofputil_protocol usable;
        char *error = parse_ofp_str(&fm, OFPFC_ADD, lines[i], NULL, NULL, &usable);
        if (error) {
            ovs_fatal(0, "%s line %zu: %s", name, i + 1, error);
        }
        struct cls_rule *rule = xmalloc(sizeof *rule);
        cls_rule_init_from_minimatch(rule, &fm.match, fm.priority);
        if (classifier_find_rule_exactly(cls, rule, OVS_VERSION_MIN)) {
            ovs_fatal(0, "%s line %zu: duplicate rule %s", name, i + 1, lines[i]);
        }
        classifier_insert(cls, rule, OVS_VERSION_MIN, NULL, 0);
        minimatch_destroy(&fm.match);
        free(fm.ofpacts);
        free(lines[i]);
    }
    free(lines);
}

static struct flow *
load_keys(const char *dir, const char *set, const char *kind, size_t *n)
{
    char name[64];
    snprintf(name, sizeof name, "%s-%s.txt", set, kind);
    char **lines = read_lines(dir, name, n);
    struct flow *flows = xcalloc(*n ? *n : 1, sizeof *flows);
    for (size_t i = 0; i < *n; i++) {
        char *error = parse_ofp_exact_flow(&flows[i], NULL, NULL, lines[i], NULL);
        if (error) {
            ovs_fatal(0, "%s line %zu: %s", name, i + 1, error);
        }
        free(lines[i]);
    }
    free(lines);
    return flows;
}

static void
run(const char *only, const char *case_name, const struct classifier *cls,
    struct flow *flows, size_t n)
{
    if (*only && strcmp(only, case_name)) {
        return;
    }
    double best = 1e30;
    size_t matched = 0;
    unsigned long long priority_sum = 0;
    for (int pass = 0; pass < N_PASSES; pass++) {
        unsigned long long start = cpu_ns();
        matched = 0;
        priority_sum = 0;
        for (int round = 0; round < N_ROUNDS; round++) {
            for (size_t i = 0; i < n; i++) {
                struct flow_wildcards wc;
                flow_wildcards_init_catchall(&wc);
                const struct cls_rule *r = classifier_lookup(cls, OVS_VERSION_MIN,
                                                             &flows[i], &wc);
                if (r) {
                    matched++;
                    priority_sum += r->priority;
                }
            }
        }
        double ns = (double) (cpu_ns() - start) / ((double) N_ROUNDS * n);
        if (ns < best) {
            best = ns;
        }
    }
    printf("%s: %.1f ns/lookup (thread CPU time, best of %d; %zu of %zu keys matched, "
           "priority sum %llu)\n", case_name, best, N_PASSES, matched / N_ROUNDS, n,
           priority_sum / N_ROUNDS);
}

int
main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    if (argc < 2) {
        ovs_fatal(0, "usage: %s DIR [CASE]", argv[0]);
    }
    const char *dir = argv[1];
    const char *only = argc > 2 ? argv[2] : "";
    static const char *sets[] = { "acl", "rand" };

    for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
        struct classifier cls;
        char hit_case[32], miss_case[32];
        size_t n_hit, n_miss;

        load_rules(&cls, dir, sets[s]);
        struct flow *hits = load_keys(dir, sets[s], "hit", &n_hit);
        struct flow *misses = load_keys(dir, sets[s], "miss", &n_miss);
        snprintf(hit_case, sizeof hit_case, "%s hit", sets[s]);
        snprintf(miss_case, sizeof miss_case, "%s miss", sets[s]);
        run(only, hit_case, &cls, hits, n_hit);
        run(only, miss_case, &cls, misses, n_miss);
        /* The classifier and keys stay until exit (a benchmark: nothing to reuse them). */
    }
    return 0;
}
