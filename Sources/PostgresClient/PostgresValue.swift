/// One bound statement parameter.
///
/// Text values travel in PostgreSQL's text format and must not contain NUL characters (PostgreSQL
/// text cannot hold them; statements with one fail with ``PostgresError/Kind/invalidArgument``).
/// Binary values travel in the binary format of the type `oid` names.
public enum PostgresValue: Sendable, Hashable {
    /// SQL NULL.
    case null
    /// A value in PostgreSQL's text input format; the server infers its type from the statement.
    case text(String)
    /// A value in the binary send/receive format of the type with object id `oid`.
    case binary([UInt8], oid: UInt32)
}
