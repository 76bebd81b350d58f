#ifndef SLUICE_PROTO_H
#define SLUICE_PROTO_H
// The generated protobuf-c messages of proto/sluice/v1, plus the few helpers
// Swift cannot express against protobuf-c directly.
#include <protobuf-c/protobuf-c.h>
#include "sluice/v1/records.pb-c.h"
#include "sluice/v1/protocol.pb-c.h"

/// protobuf-c's shared empty string, which string fields point at after init
/// or unpack. It is never freed.
static inline char *sluice_empty_string(void) { return (char *)protobuf_c_empty_string; }

#endif
