/// One message of PostgreSQL's built-in `pgoutput` logical decoding plugin, protocol version 1
/// (the payload of an ``XLogData``).
///
/// Decoding reads a whole message or throws ``ReplicationDecodingError``: it never returns part
/// of one, never traps, and rejects trailing bytes.
public enum PgOutputMessage: Sendable, Equatable {
    /// A transaction starts (`B`).
    case begin(Begin)
    /// The transaction ends (`C`).
    case commit(Commit)
    /// The transaction came from another origin (`O`).
    case origin(lsn: LSN, name: String)
    /// A table's description (`R`), sent before its first change in a session and again after
    /// its schema changed.
    case relation(Relation)
    /// A user type's name (`Y`).
    case type(oid: UInt32, namespace: String, name: String)
    /// A new row (`I`).
    case insert(relation: UInt32, new: [TupleValue])
    /// A changed row (`U`): the old key (`K`, when the key changed) or old row (`O`, REPLICA
    /// IDENTITY FULL), if sent, then the new row.
    case update(relation: UInt32, old: OldTuple?, new: [TupleValue])
    /// A removed row (`D`): its key or, under REPLICA IDENTITY FULL, its whole old row.
    case delete(relation: UInt32, old: OldTuple)
    /// Tables emptied by TRUNCATE (`T`).
    case truncate(Truncate)
    /// A logical decoding message from `pg_logical_emit_message` (`M`, with `messages 'true'`).
    case message(LogicalMessage)

    /// Decodes one pgoutput message.
    public init(decoding bytes: [UInt8]) throws(ReplicationDecodingError) {
        var reader = ByteReader(bytes)
        let tag = try reader.uint8("the pgoutput message tag")
        switch tag {
        case UInt8(ascii: "B"):
            self = .begin(Begin(finalLSN: LSN(rawValue: try reader.uint64("the Begin final LSN")),
                                commitTime: Int64(bitPattern: try reader.uint64("the Begin commit time")),
                                xid: try reader.uint32("the Begin xid")))
        case UInt8(ascii: "C"):
            let flags = try reader.uint8("the Commit flags")
            self = .commit(Commit(flags: flags, commitLSN: LSN(rawValue: try reader.uint64("the Commit LSN")),
                                  endLSN: LSN(rawValue: try reader.uint64("the Commit end LSN")),
                                  commitTime: Int64(bitPattern: try reader.uint64("the Commit time"))))
        case UInt8(ascii: "O"):
            self = .origin(lsn: LSN(rawValue: try reader.uint64("the Origin LSN")), name: try reader.string("the Origin name"))
        case UInt8(ascii: "R"):
            self = .relation(try Relation(reading: &reader))
        case UInt8(ascii: "Y"):
            self = .type(oid: try reader.uint32("the Type oid"), namespace: try reader.string("the Type namespace"),
                         name: try reader.string("the Type name"))
        case UInt8(ascii: "I"):
            let relation = try reader.uint32("the Insert relation")
            guard try reader.uint8("the Insert tuple tag") == UInt8(ascii: "N") else {
                throw ReplicationDecodingError("an Insert has no new tuple (N)")
            }
            self = .insert(relation: relation, new: try TupleValue.readTuple(&reader))
        case UInt8(ascii: "U"):
            let relation = try reader.uint32("the Update relation")
            var old: OldTuple?
            var next = try reader.uint8("the Update tuple tag")
            if next == UInt8(ascii: "K") || next == UInt8(ascii: "O") {
                let values = try TupleValue.readTuple(&reader)
                old = next == UInt8(ascii: "K") ? .key(values) : .row(values)
                next = try reader.uint8("the Update new tuple tag")
            }
            guard next == UInt8(ascii: "N") else { throw ReplicationDecodingError("an Update has no new tuple (N)") }
            self = .update(relation: relation, old: old, new: try TupleValue.readTuple(&reader))
        case UInt8(ascii: "D"):
            let relation = try reader.uint32("the Delete relation")
            let kind = try reader.uint8("the Delete tuple tag")
            guard kind == UInt8(ascii: "K") || kind == UInt8(ascii: "O") else {
                throw ReplicationDecodingError("a Delete has no old key or row (K or O)")
            }
            let values = try TupleValue.readTuple(&reader)
            self = .delete(relation: relation, old: kind == UInt8(ascii: "K") ? .key(values) : .row(values))
        case UInt8(ascii: "T"):
            let count = Int(Int32(bitPattern: try reader.uint32("the Truncate relation count")))
            let options = try reader.uint8("the Truncate options")
            guard count >= 0, count <= reader.remaining / 4 else { throw ReplicationDecodingError("the Truncate relation count \(count) is out of range") }
            var relations: [UInt32] = []
            relations.reserveCapacity(count)
            for _ in 0..<count { relations.append(try reader.uint32("a Truncate relation")) }
            self = .truncate(Truncate(relations: relations, cascade: options & 1 != 0, restartIdentity: options & 2 != 0))
        case UInt8(ascii: "M"):
            let flags = try reader.uint8("the Message flags")
            let lsn = LSN(rawValue: try reader.uint64("the Message LSN"))
            let prefix = try reader.string("the Message prefix")
            let length = try reader.length("the Message length")
            self = .message(LogicalMessage(transactional: flags & 1 != 0, lsn: lsn, prefix: prefix,
                                           content: try reader.bytes(length, "the Message content")))
        default:
            throw ReplicationDecodingError("unknown pgoutput message tag \(tag)")
        }
        try reader.expectEnd("the pgoutput message")
    }

    /// `B`: a transaction begins.
    public struct Begin: Sendable, Equatable {
        /// The LSN of the transaction's commit record.
        public let finalLSN: LSN
        /// Commit time, microseconds since 2000-01-01 UTC.
        public let commitTime: Int64
        /// The transaction id.
        public let xid: UInt32
    }

    /// `C`: a transaction commits.
    public struct Commit: Sendable, Equatable {
        /// Flags (currently unused, 0).
        public let flags: UInt8
        /// The LSN of the commit record.
        public let commitLSN: LSN
        /// The end of the commit record: the position to confirm once the transaction is stored.
        public let endLSN: LSN
        /// Commit time, microseconds since 2000-01-01 UTC.
        public let commitTime: Int64
    }

    /// `T`: tables emptied together.
    public struct Truncate: Sendable, Equatable {
        /// The relation ids, each described by an earlier ``Relation``.
        public let relations: [UInt32]
        /// TRUNCATE … CASCADE.
        public let cascade: Bool
        /// TRUNCATE … RESTART IDENTITY.
        public let restartIdentity: Bool
    }

    /// `M`: a message from `pg_logical_emit_message`.
    public struct LogicalMessage: Sendable, Equatable {
        /// Whether it was emitted inside a transaction (then it arrives between Begin and Commit).
        public let transactional: Bool
        /// Its LSN.
        public let lsn: LSN
        /// The prefix given to `pg_logical_emit_message`.
        public let prefix: String
        /// The content.
        public let content: [UInt8]
    }
}

/// The old side of an update or delete.
public enum OldTuple: Sendable, Equatable {
    /// The replica identity's key columns (`K`); other columns are null.
    case key([TupleValue])
    /// The whole old row (`O`, REPLICA IDENTITY FULL).
    case row([TupleValue])

    /// The values, whichever kind.
    public var values: [TupleValue] {
        switch self {
        case .key(let values), .row(let values): return values
        }
    }
}

/// One column value of a pgoutput TupleData.
public enum TupleValue: Sendable, Equatable {
    /// SQL NULL (`n`).
    case null
    /// An unchanged TOASTed value that was not sent (`u`): the column keeps its value.
    case unchanged
    /// The value in the type's text output format (`t`), as UTF-8 bytes.
    case text([UInt8])
    /// The value in the type's binary send format (`b`, with `binary 'true'`).
    case binary([UInt8])

    /// Reads a TupleData: a column count, then each column.
    static func readTuple(_ reader: inout ByteReader) throws(ReplicationDecodingError) -> [TupleValue] {
        let count = Int(try reader.uint16("the tuple column count"))
        guard count <= reader.remaining else { throw ReplicationDecodingError("the tuple column count \(count) exceeds the message") }
        var values: [TupleValue] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            switch try reader.uint8("a tuple column kind") {
            case UInt8(ascii: "n"): values.append(.null)
            case UInt8(ascii: "u"): values.append(.unchanged)
            case UInt8(ascii: "t"): values.append(.text(try reader.bytes(try reader.length("a text value length"), "a text value")))
            case UInt8(ascii: "b"): values.append(.binary(try reader.bytes(try reader.length("a binary value length"), "a binary value")))
            case let kind: throw ReplicationDecodingError("unknown tuple column kind \(kind)")
            }
        }
        return values
    }
}

/// `R`: a table as the replication stream describes it.
public struct Relation: Sendable, Equatable {
    /// The table's oid: changes refer to it.
    public let oid: UInt32
    /// Schema (empty for `pg_catalog`).
    public let namespace: String
    /// Table name.
    public let name: String
    /// The replica identity setting: `d` default (primary key), `n` nothing, `f` full, `i` index.
    public let replicaIdentity: UInt8
    /// The published columns, in order.
    public let columns: [Column]

    /// One column of a ``Relation``.
    public struct Column: Sendable, Equatable {
        /// Whether the column is part of the replica identity key.
        public let isKey: Bool
        /// Column name.
        public let name: String
        /// Type oid.
        public let typeOID: UInt32
        /// Type modifier (-1 when none).
        public let typeModifier: Int32
    }

    init(reading reader: inout ByteReader) throws(ReplicationDecodingError) {
        oid = try reader.uint32("the Relation oid")
        namespace = try reader.string("the Relation namespace")
        name = try reader.string("the Relation name")
        replicaIdentity = try reader.uint8("the Relation replica identity")
        let count = Int(try reader.uint16("the Relation column count"))
        guard count <= reader.remaining / 10 else { throw ReplicationDecodingError("the Relation column count \(count) exceeds the message") }
        var columns: [Column] = []
        columns.reserveCapacity(count)
        for _ in 0..<count {
            let flags = try reader.uint8("a Relation column's flags")
            columns.append(Column(isKey: flags & 1 != 0, name: try reader.string("a Relation column's name"),
                                  typeOID: try reader.uint32("a Relation column's type"),
                                  typeModifier: Int32(bitPattern: try reader.uint32("a Relation column's type modifier"))))
        }
        self.columns = columns
    }
}
