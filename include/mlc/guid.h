/* GUIDs as Dataverse writes them (8-4-4-4-12 hexadecimal digits). */
#ifndef MLC_GUID_H
#define MLC_GUID_H

#include <stdbool.h>
#include <stddef.h>

/* True when the len bytes at s are a GUID in Dataverse's text form. */
bool mlc_guid_valid(const char *s, size_t len);

#endif
