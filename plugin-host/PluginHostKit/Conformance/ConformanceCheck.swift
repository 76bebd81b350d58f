/// The conformance checks, in the order they run. The names are stable (scripts match on
/// them); each case names the PROTOCOL.md rule it checks.
enum ConformanceCheck: String, CaseIterable, Sendable {
    /// §1.3: `--version` and `--help` exit 0 and print to stdout; an unknown argument exits 64.
    case commandLine = "command-line"
    /// §3.1: Hello 1–1 is answered by HelloReply with version 1, a name, a version and a role.
    case handshake
    /// §3.1: no common version is Error{PROTOCOL, PROTOCOL_VERSION_MISMATCH}, then exit 2.
    case versionMismatch = "version-mismatch"
    /// §3.1: a first frame other than Hello is Error{PROTOCOL, UNEXPECTED_MESSAGE}, then exit 2.
    case helloFirst = "hello-first"
    /// §2.1, §2.4: a flag byte other than 0 is Error{PROTOCOL, UNSUPPORTED_FRAME_FLAGS}, then exit 2.
    case badFrameFlags = "bad-frame-flags"
    /// §3.4: Close, and end of input between calls, end the session with exit 0.
    case close
    /// §4.1, §9: GetSpec is answered by a JSON Schema object.
    case spec
    /// §4.2: an unusable configuration is a failed CheckResponse, not an Error.
    case checkInvalidConfig = "check-invalid-config"
    /// §4.2: the configuration passes Check, consistently with its results.
    case check
    /// §3.3, §7.3: Write input between calls is Error{PROTOCOL, UNEXPECTED_MESSAGE}; the session continues.
    case writeInputBetweenCalls = "write-input-between-calls"
    /// §6.1: Cancel between calls is ignored.
    case cancelBetweenCalls = "cancel-between-calls"
    /// §3.3, §8.2: a source with `read_acks` ignores a ReadAck between calls.
    case readAckBetweenCalls = "read-ack-between-calls"
    /// §4.6: a call of a role the plugin lacks is Error{CONFIG, UNSUPPORTED_CALL}; the session continues.
    case unsupportedCall = "unsupported-call"
    /// §4.7: with the feature `resources`, a listing is a ResourcesResponse releasing nothing;
    /// without it, Error{CONFIG, UNSUPPORTED_CALL}; the session continues.
    case resources
    /// §4.8: a destination with `plan_write` plans a Write of a new stream (one TablePlan, with a
    /// target and an action) and changes nothing; one without it answers Error{CONFIG, UNSUPPORTED_CALL}.
    case planWrite = "plan-write"
    /// §6.2: SIGTERM to an idle plugin ends it with exit 130.
    case sigterm
    /// §4.3: Discover answers a consistent Catalog.
    case discover
    /// §4.4, §5.10: a full-refresh Read follows the ordering rules and its batches their schema.
    case read
    /// §6.1: a Read cancelled after its first message ends, and the session continues.
    case readCancel = "read-cancel"
    /// §4.5, §8: a Write is acknowledged state by state, in order, and summarised.
    case write
    /// §4.5, §5.10, §7.3: a batch that does not match its schema is Error{PROTOCOL, INVALID_MESSAGE}; the session continues.
    case writeInvalidBatch = "write-invalid-batch"
    /// §8.1: a destination with `committed_states` begins a Write with a pipeline id by
    /// CommittedStates, and a later Write reports the state the earlier one acknowledged.
    case writeCommittedStates = "write-committed-states"
    /// §5.9, §8.2: a destination with `cdc_apply` takes a CDC stream (TRUNCATE rows, unchanged
    /// values, global states) and acknowledges its states; one without it refuses TRUNCATE rows
    /// with Error{PROTOCOL, INVALID_MESSAGE}.
    case writeChanges = "write-cdc"
    /// §5.12: a destination with `postgres_rows` that lists a stream takes its batches as
    /// PostgreSQL rows, and refuses a tuple of another field count with Error{PROTOCOL, INVALID_MESSAGE}.
    case writePostgresRows = "write-postgres-rows"
}
