/* Dates for the emulated NetSuite: the user's time zone and preference, Oracle format models
 * (TO_CHAR/TO_DATE). */
#include "internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The user's zone is the process's TZ, set once by the sandbox command before threads start, so
 * localtime_r and mktime convert to and from it. */

double ns_days_from_secs(int64_t secs)
{
    return (double)secs / 86400.0;
}

int64_t ns_secs_from_days(double days)
{
    return (int64_t)llround(days * 86400.0);
}

static const char *const mon_upper[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                        "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const month_names[] = {"JANUARY",   "FEBRUARY", "MARCH",    "APRIL",
                                          "MAY",       "JUNE",     "JULY",     "AUGUST",
                                          "SEPTEMBER", "OCTOBER",  "NOVEMBER", "DECEMBER"};
static const char *const day_names[] = {"SUNDAY",   "MONDAY", "TUESDAY", "WEDNESDAY",
                                        "THURSDAY", "FRIDAY", "SATURDAY"};

/* Writes name in the case style of the format element: MON -> JAN, Mon -> Jan, mon -> jan. */
static void put_name(char *dst, size_t dsz, const char *name, size_t maxlen, const char *elem,
                     bool fm, size_t pad_to)
{
    char tmp[16];
    size_t n = strlen(name);
    if (n > maxlen)
        n = maxlen;
    bool upper = isupper((unsigned char)elem[0]) && isupper((unsigned char)elem[1]);
    bool cap = isupper((unsigned char)elem[0]) && !upper;
    for (size_t i = 0; i < n && i < sizeof tmp - 1; i++) {
        char c = name[i];
        tmp[i] = upper || (cap && i == 0) ? c : (char)tolower((unsigned char)c);
    }
    tmp[n < sizeof tmp ? n : sizeof tmp - 1] = '\0';
    if (!fm && pad_to > n)
        snprintf(dst, dsz, "%-*s", (int)pad_to, tmp);
    else
        snprintf(dst, dsz, "%s", tmp);
}

static bool starts(const char *p, const char *elem)
{
    return strncasecmp(p, elem, strlen(elem)) == 0;
}

static bool is_sep(char c)
{
    return c == '-' || c == '/' || c == ',' || c == '.' || c == ';' || c == ':' || c == ' ';
}

enum mlc_rc ns_time_format(int64_t secs, int usec, const char *fmt, char *out, size_t outsz)
{
    time_t t = (time_t)secs;
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return MLC_EINVAL;
    size_t o = 0;
    bool fm = false;
    out[0] = '\0';
    for (const char *p = fmt; *p;) {
        char piece[64] = "";
        size_t adv = 0;
        if (*p == '"') {
            const char *e = strchr(p + 1, '"');
            if (!e)
                return MLC_EINVAL;
            size_t l = (size_t)(e - p - 1);
            if (l >= sizeof piece)
                l = sizeof piece - 1;
            memcpy(piece, p + 1, l);
            piece[l] = '\0';
            adv = (size_t)(e - p) + 1;
        } else if (is_sep(*p)) {
            piece[0] = *p;
            piece[1] = '\0';
            adv = 1;
        } else if (starts(p, "FM")) {
            fm = !fm;
            adv = 2;
        } else if (starts(p, "YYYY") || starts(p, "RRRR")) {
            snprintf(piece, sizeof piece, "%04d", tm.tm_year + 1900);
            adv = 4;
        } else if (starts(p, "YYY")) {
            snprintf(piece, sizeof piece, "%03d", (tm.tm_year + 1900) % 1000);
            adv = 3;
        } else if (starts(p, "YY") || starts(p, "RR")) {
            snprintf(piece, sizeof piece, "%02d", (tm.tm_year + 1900) % 100);
            adv = 2;
        } else if (starts(p, "MONTH")) {
            put_name(piece, sizeof piece, month_names[tm.tm_mon], 9, p, fm, 9);
            adv = 5;
        } else if (starts(p, "MON")) {
            put_name(piece, sizeof piece, mon_upper[tm.tm_mon], 3, p, fm, 3);
            adv = 3;
        } else if (starts(p, "MM")) {
            snprintf(piece, sizeof piece, fm ? "%d" : "%02d", tm.tm_mon + 1);
            adv = 2;
        } else if (starts(p, "MI")) {
            snprintf(piece, sizeof piece, fm ? "%d" : "%02d", tm.tm_min);
            adv = 2;
        } else if (starts(p, "DDD")) {
            snprintf(piece, sizeof piece, fm ? "%d" : "%03d", tm.tm_yday + 1);
            adv = 3;
        } else if (starts(p, "DAY")) {
            put_name(piece, sizeof piece, day_names[tm.tm_wday], 9, p, fm, 9);
            adv = 3;
        } else if (starts(p, "DY")) {
            put_name(piece, sizeof piece, day_names[tm.tm_wday], 3, p, fm, 3);
            adv = 2;
        } else if (starts(p, "DD")) {
            snprintf(piece, sizeof piece, fm ? "%d" : "%02d", tm.tm_mday);
            adv = 2;
        } else if (starts(p, "D")) {
            snprintf(piece, sizeof piece, "%d", tm.tm_wday + 1);
            adv = 1;
        } else if (starts(p, "HH24")) {
            snprintf(piece, sizeof piece, fm ? "%d" : "%02d", tm.tm_hour);
            adv = 4;
        } else if (starts(p, "HH12") || starts(p, "HH")) {
            int h = tm.tm_hour % 12;
            snprintf(piece, sizeof piece, fm ? "%d" : "%02d", h ? h : 12);
            adv = starts(p, "HH12") ? 4 : 2;
        } else if (starts(p, "SSSSS")) {
            snprintf(piece, sizeof piece, "%05d", tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
            adv = 5;
        } else if (starts(p, "SS")) {
            snprintf(piece, sizeof piece, fm ? "%d" : "%02d", tm.tm_sec);
            adv = 2;
        } else if (starts(p, "FF")) {
            int digits = 6;
            adv = 2;
            if (p[2] >= '1' && p[2] <= '9') {
                digits = p[2] - '0';
                adv = 3;
            }
            char us[16];
            snprintf(us, sizeof us, "%06d000", usec < 0 ? 0 : usec % 1000000);
            memcpy(piece, us, (size_t)digits);
            piece[digits] = '\0';
        } else if (starts(p, "A.M.") || starts(p, "P.M.")) {
            bool up = isupper((unsigned char)p[0]);
            snprintf(piece, sizeof piece, "%s",
                     tm.tm_hour < 12 ? (up ? "A.M." : "a.m.") : (up ? "P.M." : "p.m."));
            adv = 4;
        } else if (starts(p, "AM") || starts(p, "PM")) {
            bool up = isupper((unsigned char)p[0]);
            snprintf(piece, sizeof piece, "%s",
                     tm.tm_hour < 12 ? (up ? "AM" : "am") : (up ? "PM" : "pm"));
            adv = 2;
        } else if (starts(p, "TZH")) {
            long off = tm.tm_gmtoff;
            snprintf(piece, sizeof piece, "%c%02ld", off < 0 ? '-' : '+', labs(off) / 3600);
            adv = 3;
        } else if (starts(p, "TZM")) {
            snprintf(piece, sizeof piece, "%02ld", (labs(tm.tm_gmtoff) % 3600) / 60);
            adv = 3;
        } else if (starts(p, "Q")) {
            snprintf(piece, sizeof piece, "%d", tm.tm_mon / 3 + 1);
            adv = 1;
        } else {
            return MLC_EINVAL; /* ORA-01821: date format not recognized */
        }
        size_t pl = strlen(piece);
        if (o + pl >= outsz)
            return MLC_ENOMEM;
        memcpy(out + o, piece, pl + 1);
        o += pl;
        p += adv;
    }
    return MLC_OK;
}

static int read_num(const char **s, int maxdig, int *out)
{
    int v = 0, n = 0;
    const char *p = *s;
    while (n < maxdig && isdigit((unsigned char)*p)) {
        v = v * 10 + (*p - '0');
        p++;
        n++;
    }
    if (n == 0)
        return -1;
    *s = p;
    *out = v;
    return n;
}

static int read_name(const char **s, const char *const *names, int count, size_t minlen)
{
    for (int i = 0; i < count; i++) {
        size_t l = strlen(names[i]);
        if (strncasecmp(*s, names[i], l) == 0) {
            *s += l;
            return i;
        }
    }
    for (int i = 0; i < count; i++) {
        if (strncasecmp(*s, names[i], minlen) == 0) {
            *s += minlen;
            return i;
        }
    }
    return -1;
}

enum mlc_rc ns_time_parse(const char *s, const char *fmt, int64_t *secs, int *usec)
{
    time_t now = time(NULL);
    struct tm cur;
    localtime_r(&now, &cur);
    int year = cur.tm_year + 1900, mon = cur.tm_mon + 1, day = 1, hour = 0, min = 0, sec = 0;
    int us = 0, pm = -1;
    bool h12 = false;
    const char *p = fmt;
    while (*s == ' ')
        s++;
    while (*p) {
        int v = 0;
        if (*p == '"') {
            const char *e = strchr(p + 1, '"');
            if (!e)
                return MLC_EINVAL;
            size_t l = (size_t)(e - p - 1);
            if (strncmp(s, p + 1, l) != 0)
                return MLC_EINVAL;
            s += l;
            p = e + 1;
        } else if (is_sep(*p)) {
            /* Oracle is lenient: any punctuation matches any, spaces are optional. */
            if (is_sep(*s))
                s++;
            else if (*p != ' ')
                return MLC_EINVAL;
            p++;
        } else if (starts(p, "FM") || starts(p, "FX")) {
            p += 2;
        } else if (starts(p, "YYYY") || starts(p, "RRRR")) {
            if (read_num(&s, 4, &year) < 0)
                return MLC_EINVAL;
            p += 4;
        } else if (starts(p, "YY") || starts(p, "RR")) {
            if (read_num(&s, 2, &v) < 0)
                return MLC_EINVAL;
            year = (starts(p, "RR") && v >= 50) ? 1900 + v : 2000 + v;
            p += 2;
        } else if (starts(p, "MONTH")) {
            int m = read_name(&s, month_names, 12, 3);
            if (m < 0)
                return MLC_EINVAL;
            mon = m + 1;
            p += 5;
        } else if (starts(p, "MON")) {
            int m = read_name(&s, month_names, 12, 3);
            if (m < 0)
                return MLC_EINVAL;
            mon = m + 1;
            p += 3;
        } else if (starts(p, "MM")) {
            if (read_num(&s, 2, &mon) < 0)
                return MLC_EINVAL;
            p += 2;
        } else if (starts(p, "MI")) {
            if (read_num(&s, 2, &min) < 0)
                return MLC_EINVAL;
            p += 2;
        } else if (starts(p, "DD")) {
            if (read_num(&s, 2, &day) < 0)
                return MLC_EINVAL;
            p += 2;
        } else if (starts(p, "HH24")) {
            if (read_num(&s, 2, &hour) < 0)
                return MLC_EINVAL;
            p += 4;
        } else if (starts(p, "HH12") || starts(p, "HH")) {
            if (read_num(&s, 2, &hour) < 0)
                return MLC_EINVAL;
            h12 = true;
            p += starts(p, "HH12") ? 4 : 2;
        } else if (starts(p, "SS")) {
            if (read_num(&s, 2, &sec) < 0)
                return MLC_EINVAL;
            p += 2;
        } else if (starts(p, "FF")) {
            int n = read_num(&s, 9, &v);
            if (n < 0)
                return MLC_EINVAL;
            while (n < 6) {
                v *= 10;
                n++;
            }
            while (n > 6) {
                v /= 10;
                n--;
            }
            us = v;
            p += (p[2] >= '1' && p[2] <= '9') ? 3 : 2;
        } else if (starts(p, "A.M.") || starts(p, "P.M.")) {
            if (starts(s, "A.M."))
                pm = 0;
            else if (starts(s, "P.M."))
                pm = 1;
            else
                return MLC_EINVAL;
            s += 4;
            p += 4;
        } else if (starts(p, "AM") || starts(p, "PM")) {
            if (starts(s, "AM"))
                pm = 0;
            else if (starts(s, "PM"))
                pm = 1;
            else
                return MLC_EINVAL;
            s += 2;
            p += 2;
        } else {
            return MLC_EINVAL;
        }
    }
    while (*s == ' ')
        s++;
    if (*s)
        return MLC_EINVAL; /* ORA-01830: date format picture ends before converting entire input */
    if (h12 || pm >= 0) {
        if (hour < 1 || hour > 12)
            return MLC_EINVAL;
        hour = hour % 12 + (pm == 1 ? 12 : 0);
    }
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59 ||
        year < 1 || year > 9999)
        return MLC_EINVAL;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = mon - 1,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = min,
                    .tm_sec = sec,
                    .tm_isdst = -1};
    time_t t = mktime(&tm);
    if (tm.tm_mday != day || tm.tm_mon != mon - 1)
        return MLC_EINVAL; /* 31 February */
    *secs = (int64_t)t;
    if (usec)
        *usec = us;
    return MLC_OK;
}

static const char *const pref_formats[] = {"M/D/YYYY",   "MM/DD/YYYY", "D/M/YYYY",   "DD/MM/YYYY",
                                           "D.M.YYYY",   "DD.MM.YYYY", "D-Mon-YYYY", "DD-Mon-YYYY",
                                           "YYYY/MM/DD", "YYYY-MM-DD"};

bool ns_date_format_valid(const char *datefmt)
{
    for (size_t i = 0; i < sizeof pref_formats / sizeof pref_formats[0]; i++)
        if (strcmp(pref_formats[i], datefmt) == 0)
            return true;
    return false;
}

void ns_time_render_pref(int64_t secs, const char *datefmt, bool with_time, bool date_only,
                         char *out, size_t outsz)
{
    time_t t = (time_t)secs;
    struct tm tm;
    localtime_r(&t, &tm);
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = datefmt; *p && o + 8 < outsz;) {
        int n = 0;
        if (strncmp(p, "YYYY", 4) == 0) {
            n = snprintf(out + o, outsz - o, "%04d", tm.tm_year + 1900);
            p += 4;
        } else if (strncmp(p, "Mon", 3) == 0) {
            n = snprintf(out + o, outsz - o, "%c%c%c", mon_upper[tm.tm_mon][0],
                         (char)tolower((unsigned char)mon_upper[tm.tm_mon][1]),
                         (char)tolower((unsigned char)mon_upper[tm.tm_mon][2]));
            p += 3;
        } else if (strncmp(p, "MM", 2) == 0) {
            n = snprintf(out + o, outsz - o, "%02d", tm.tm_mon + 1);
            p += 2;
        } else if (*p == 'M') {
            n = snprintf(out + o, outsz - o, "%d", tm.tm_mon + 1);
            p += 1;
        } else if (strncmp(p, "DD", 2) == 0) {
            n = snprintf(out + o, outsz - o, "%02d", tm.tm_mday);
            p += 2;
        } else if (*p == 'D') {
            n = snprintf(out + o, outsz - o, "%d", tm.tm_mday);
            p += 1;
        } else {
            out[o] = *p;
            out[o + 1] = '\0';
            n = 1;
            p++;
        }
        if (n > 0)
            o += (size_t)n;
    }
    if (with_time && !date_only && o + 12 < outsz) {
        int h = tm.tm_hour % 12;
        snprintf(out + o, outsz - o, " %d:%02d %s", h ? h : 12, tm.tm_min,
                 tm.tm_hour < 12 ? "am" : "pm");
    }
}

enum mlc_rc ns_time_parse_pref(const char *s, const char *datefmt, int64_t *secs)
{
    /* The preference tokens map onto Oracle elements (M and D accept one or two digits). */
    char ofmt[32];
    size_t o = 0;
    for (const char *p = datefmt; *p && o + 6 < sizeof ofmt;) {
        if (strncmp(p, "YYYY", 4) == 0) {
            memcpy(ofmt + o, "YYYY", 4);
            o += 4;
            p += 4;
        } else if (strncmp(p, "Mon", 3) == 0) {
            memcpy(ofmt + o, "MON", 3);
            o += 3;
            p += 3;
        } else if (*p == 'M') {
            memcpy(ofmt + o, "MM", 2);
            o += 2;
            p += p[1] == 'M' ? 2 : 1;
        } else if (*p == 'D') {
            memcpy(ofmt + o, "DD", 2);
            o += 2;
            p += p[1] == 'D' ? 2 : 1;
        } else {
            ofmt[o++] = *p++;
        }
    }
    ofmt[o] = '\0';
    return ns_time_parse(s, ofmt, secs, NULL);
}

int64_t ns_secs_utc_wall_as_local(int64_t secs)
{
    /* The UTC wall clock of the instant, encoded like any other naive value: as the instant at
     * which the user's zone shows that wall clock. Comparing two such values compares wall
     * clocks, which is what SYS_EXTRACT_UTC(col) > TO_TIMESTAMP('...') means. */
    time_t t = (time_t)secs;
    struct tm g;
    gmtime_r(&t, &g);
    g.tm_isdst = -1;
    return (int64_t)mktime(&g);
}

enum mlc_rc ns_time_trunc(int64_t secs, const char *unit, int64_t *out)
{
    time_t t = (time_t)secs;
    struct tm tm;
    localtime_r(&t, &tm);
    if (!unit || strcasecmp(unit, "DD") == 0 || strcasecmp(unit, "DDD") == 0 ||
        strcasecmp(unit, "J") == 0) {
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    } else if (strcasecmp(unit, "MM") == 0 || strcasecmp(unit, "MON") == 0 ||
               strcasecmp(unit, "MONTH") == 0) {
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    } else if (strcasecmp(unit, "YYYY") == 0 || strcasecmp(unit, "YEAR") == 0 ||
               strcasecmp(unit, "YY") == 0) {
        tm.tm_mon = 0;
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    } else if (strcasecmp(unit, "HH") == 0 || strcasecmp(unit, "HH24") == 0) {
        tm.tm_min = tm.tm_sec = 0;
    } else if (strcasecmp(unit, "MI") == 0) {
        tm.tm_sec = 0;
    } else {
        return MLC_EINVAL;
    }
    tm.tm_isdst = -1;
    *out = (int64_t)mktime(&tm);
    return MLC_OK;
}

int64_t ns_time_add_months(int64_t secs, int months)
{
    time_t t = (time_t)secs;
    struct tm tm;
    localtime_r(&t, &tm);
    int day = tm.tm_mday;
    int m = tm.tm_mon + months;
    tm.tm_year += m >= 0 ? m / 12 : (m - 11) / 12;
    tm.tm_mon = ((m % 12) + 12) % 12;
    /* Oracle clamps to the last day of the target month. */
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = tm.tm_year + 1900;
    int last =
        mdays[tm.tm_mon] + (tm.tm_mon == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    tm.tm_mday = day > last ? last : day;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm);
}

void ns_time_iso_utc(int64_t secs, char *out, size_t outsz)
{
    time_t t = (time_t)secs;
    struct tm g;
    gmtime_r(&t, &g);
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02dZ", g.tm_year + 1900, g.tm_mon + 1,
             g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec);
}
