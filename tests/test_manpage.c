/* docs/genxfer.1 against the tool's --help texts: every command has a section; every long option
 * a command's --help prints is in that section, and where --help gives a default ([...] or
 * "(default ...)") the option's entry in the man page says "Default: " and the same; every domain option and
 * every dataset-spec kind and key is documented; the version matches; man renders the page
 * without warnings. */
#include "test_cli_util.h"

#include <ctype.h>

#include "genxfer.h"

#define MAN_PATH "docs/genxfer.1"

static char *man_text; /* the page with roff escapes removed (see plain()) */

/* Roff to plain text, enough for matching: \- -> -, \e -> \, font changes and \(aq dropped. */
static char *plain(const char *roff) {
    char *out = malloc(strlen(roff) + 1), *o = out;
    assert_non_null(out);
    for (const char *p = roff; *p;) {
        if (p[0] == '\\' && p[1] == '-') *o++ = '-', p += 2;
        else if (p[0] == '\\' && p[1] == 'e') *o++ = '\\', p += 2;
        else if (p[0] == '\\' && p[1] == 'f' && p[2]) p += 3;
        else if (!strncmp(p, "\\(aq", 4)) *o++ = '\'', p += 4;
        else *o++ = *p++;
    }
    *o = '\0';
    return out;
}

static int setup(void **state) {
    (void)state;
    char *roff = slurp(MAN_PATH);
    if (!*roff) {
        fprintf(stderr, "cannot read %s (run the tests from the project root)\n", MAN_PATH);
        return -1;
    }
    man_text = plain(roff);
    free(roff);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(man_text);
    return 0;
}

/* Whether text holds `opt` as a whole option: not followed by a letter, digit or '-'. */
static int has_option(const char *text, const char *opt) {
    size_t n = strlen(opt);
    for (const char *p = strstr(text, opt); p; p = strstr(p + 1, opt)) {
        char next = p[n];
        if (!isalnum((unsigned char)next) && next != '-') return 1;
    }
    return 0;
}

/* The section ".SS CMD" of the page, up to the next .SS or .SH (caller frees). */
static char *man_section(const char *cmd) {
    char head[64];
    snprintf(head, sizeof head, "\n.SS %s\n", cmd);
    const char *start = strstr(man_text, head);
    if (!start) fail_msg("%s has no section '.SS %s'", MAN_PATH, cmd);
    start += strlen(head);
    const char *end = start;
    while ((end = strchr(end, '\n')) && strncmp(end + 1, ".SS", 3) && strncmp(end + 1, ".SH", 3))
        end++;
    size_t n = end ? (size_t)(end - start) : strlen(start);
    char *s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, start, n);
    s[n] = '\0';
    return s;
}

/* The .TP entry of section whose tag line names opt, with its lines joined by single spaces
 * (caller frees), or NULL. */
static char *man_entry(const char *section, const char *opt) {
    for (const char *tp = strstr(section, ".TP\n"); tp; tp = strstr(tp + 1, ".TP\n")) {
        const char *tag = tp + 4, *eol = strchr(tag, '\n');
        if (!eol) break;
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)(eol - tag), tag);
        if (!has_option(line, opt)) continue;
        const char *end = eol;
        while ((end = strchr(end + 1, '\n')) && strncmp(end + 1, ".TP", 3) &&
               strncmp(end + 1, ".SS", 3) && strncmp(end + 1, ".SH", 3) && strncmp(end + 1, ".PP", 3))
            ;
        size_t n = end ? (size_t)(end - eol) : strlen(eol);
        char *s = malloc(n + 1), *o = s;
        assert_non_null(s);
        for (size_t i = 0; i < n; i++) {
            char c = eol[i] == '\n' ? ' ' : eol[i];
            if (c == ' ' && o > s && o[-1] == ' ') continue;
            *o++ = c;
        }
        *o = '\0';
        return s;
    }
    return NULL;
}

/* The --help text of `genxfer ARGS` (caller frees). */
static char *help(const char *args) {
    assert_int_equal(run("%s", args), 0);
    return slurp(OUT);
}

/* The command names listed by `genxfer --help`. */
static int commands(char names[][32], int max) {
    char *text = help("--help");
    char *p = strstr(text, "commands:\n");
    assert_non_null(p);
    int n = 0;
    for (p = strchr(p, '\n') + 1; !strncmp(p, "  ", 2) && n < max; p += strcspn(p, "\n") + 1)
        if (sscanf(p, " %31s", names[n]) == 1) n++;
    free(text);
    return n;
}

static void test_every_command_has_a_section(void **s) {
    (void)s;
    char names[32][32];
    int n = commands(names, 32);
    assert_true(n >= 8);
    for (int i = 0; i < n; i++) free(man_section(names[i]));
    assert_true(has_option(man_text, "--version"));
    assert_true(has_option(man_text, "--help"));
}

/* The default an option line of --help gives: the last [...] of the entry, or "(default X)". */
static int help_default(const char *entry, char *out, size_t n) {
    const char *open = strrchr(entry, '['), *close = open ? strchr(open, ']') : NULL;
    if (open && close) {
        snprintf(out, n, "%.*s", (int)(close - open - 1), open + 1);
        return 1;
    }
    const char *d = strstr(entry, "(default");
    if (!d) return 0;
    d += 8;
    if (*d == ':') d++;
    while (*d == ' ') d++;
    const char *end = strchr(d, ')');
    if (!end) return 0;
    snprintf(out, n, "%.*s", (int)(end - d), d);
    return 1;
}

/* Whether a man entry says "Default: DEF." or "Default: DEF (...". */
static int has_default(const char *entry, const char *def) {
    char want[300];
    snprintf(want, sizeof want, "Default: %s", def);
    for (const char *p = strstr(entry, want); p; p = strstr(p + 1, want)) {
        const char *after = p + strlen(want);
        if ((after[0] == '.' && (after[1] == ' ' || after[1] == '\0')) || !strncmp(after, " (", 2))
            return 1;
    }
    return 0;
}

/* Checks the options of one command: each --option of its help is in its section; each option
 * entry (a line "  -..." and the more indented lines after it) with a default has it in its man
 * entry. */
static void check_command(const char *cmd) {
    char args[64];
    snprintf(args, sizeof args, "%.31s --help", cmd);
    char *text = help(args), *section = man_section(cmd);
    for (const char *p = strstr(text, "--"); p; p = strstr(p + 2, "--")) {
        char opt[64];
        if (sscanf(p, "%63[a-z0-9-]", opt) != 1 || strlen(opt) < 3) continue;
        if (!has_option(section, opt))
            fail_msg("genxfer %s --help prints %s; the section '.SS %s' of %s does not", cmd, opt,
                     cmd, MAN_PATH);
    }
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "  -", 3)) continue;
        /* the entry: this line and the more indented lines after it */
        char entry[1024] = "";
        for (char *l = line; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
            if (l != line && strncmp(l, "   ", 3)) break;
            size_t len = strcspn(l, "\n"), have = strlen(entry);
            snprintf(entry + have, sizeof entry - have, "%s%.*s", have ? " " : "", (int)len,
                     l + strspn(l, " "));
        }
        const char *first = strstr(entry, "--");
        char opt[64], def[256];
        if (!first || sscanf(first, "%63[a-z0-9-]", opt) != 1 || !help_default(entry, def, sizeof def))
            continue;
        char *man = man_entry(section, opt);
        if (!man) fail_msg("%s: no .TP entry for %s in the section of %s", MAN_PATH, opt, cmd);
        if (!has_default(man, def))
            fail_msg("genxfer %s --help gives %s the default '%s'; %s says:%s", cmd, opt, def,
                     MAN_PATH, man);
        free(man);
    }
    free(section);
    free(text);
}

static void test_options_and_defaults_in_sync(void **s) {
    (void)s;
    char names[32][32];
    int n = commands(names, 32);
    for (int i = 0; i < n; i++) check_command(names[i]);
}

/* Lines "  KEY=..." (domain options of train, spec options of data) and "  KIND:..." (spec
 * kinds) of a help text are documented as "KEY=" and "KIND:". */
static void check_keys(const char *args, char sep) {
    char *text = help(args);
    int checked = 0;
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char key[64];
        if (strncmp(line, "  ", 2) || line[2] == ' ' || sscanf(line + 2, "%62[a-z0-9-]", key) != 1 ||
            line[2 + strlen(key)] != sep)
            continue;
        size_t k = strlen(key);
        key[k] = sep, key[k + 1] = '\0';
        if (!strstr(man_text, key)) fail_msg("genxfer %s documents '%s'; %s does not", args, key, MAN_PATH);
        checked++;
    }
    assert_true(checked > 0);
    free(text);
}

static void test_domain_and_spec_options(void **s) {
    (void)s;
    check_keys("train --help", '=');  /* name=, k=, val=, ... */
    check_keys("data --help", '=');   /* labels=, data=, label=, ... */
    check_keys("data --help", ':');   /* mnist:, usps:, csv:, ... */
}

static void test_version(void **s) {
    (void)s;
    assert_contains(man_text, "\"genxfer " GENXFER_VERSION "\"");
}

/* `man -l` formats the page without a warning (skipped where man is not installed). */
static void test_renders(void **s) {
    (void)s;
    if (test_run("command -v man", NULL) != 0) {
        fprintf(stderr, "man is not installed: not rendering %s\n", MAN_PATH);
        skip();
    }
    char out[600], err[600], cmd[1400];
    test_path(out, sizeof out, "man.txt");
    test_path(err, sizeof err, "man.err");
    snprintf(cmd, sizeof cmd, "{ MANWIDTH=80 man --warnings -l %s > '%s' 2> '%s'; }", MAN_PATH, out, err);
    assert_int_equal(test_run(cmd, NULL), 0);
    char *warnings = slurp(err), *page = slurp(out);
    if (*warnings) fail_msg("man warns about %s:\n%s", MAN_PATH, warnings);
    assert_contains(page, "SYNOPSIS");
    assert_contains(page, "--batch-unlabelled N");
    free(warnings);
    free(page);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_has_a_section),
        cmocka_unit_test(test_options_and_defaults_in_sync),
        cmocka_unit_test(test_domain_and_spec_options),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_renders),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
