import Foundation

/// One CopyData message a walsender sends during `START_REPLICATION`.
public enum ReplicationMessage: Sendable, Equatable {
    /// WAL data (`w`): for logical replication, one output-plugin message.
    case data(XLogData)
    /// A keepalive (`k`).
    case keepalive(Keepalive)

    /// Decodes one CopyData message; throws on anything else than a whole `w` or `k` message.
    public init(decoding bytes: [UInt8]) throws(ReplicationDecodingError) {
        var reader = ByteReader(bytes)
        switch try reader.uint8("the message tag") {
        case UInt8(ascii: "w"):
            let start = LSN(rawValue: try reader.uint64("the XLogData start"))
            let end = LSN(rawValue: try reader.uint64("the XLogData end"))
            let clock = Int64(bitPattern: try reader.uint64("the XLogData clock"))
            let payload = try reader.bytes(reader.remaining, "the XLogData payload")
            self = .data(XLogData(start: start, walEnd: end, serverClock: clock, payload: payload))
        case UInt8(ascii: "k"):
            let end = LSN(rawValue: try reader.uint64("the keepalive WAL end"))
            let clock = Int64(bitPattern: try reader.uint64("the keepalive clock"))
            let reply = try reader.uint8("the keepalive reply flag")
            try reader.expectEnd("the keepalive")
            self = .keepalive(Keepalive(walEnd: end, serverClock: clock, replyRequested: reply != 0))
        case let tag:
            throw ReplicationDecodingError("unknown replication message tag \(tag)")
        }
    }
}

/// WAL data: where it starts, the server's WAL end when sent, and the data.
public struct XLogData: Sendable, Equatable {
    /// The WAL position of the data (for logical decoding, the change's LSN; 0 for some messages).
    public let start: LSN
    /// The server's current WAL end.
    public let walEnd: LSN
    /// The server's clock when sent, in microseconds since 2000-01-01 UTC.
    public let serverClock: Int64
    /// The output plugin's message.
    public let payload: [UInt8]
}

/// A keepalive: the server's WAL end, and whether it wants a status update at once.
public struct Keepalive: Sendable, Equatable {
    /// The server's current WAL end.
    public let walEnd: LSN
    /// The server's clock when sent, in microseconds since 2000-01-01 UTC.
    public let serverClock: Int64
    /// Whether the server asks for a standby status update now (it disconnects a client
    /// that stays silent for `wal_sender_timeout`).
    public let replyRequested: Bool
}

/// A standby status update (`r`): the positions the client has written, flushed and applied.
/// The flush position is what a logical slot confirms: WAL before it may be recycled and
/// changes before it are not sent again.
public struct StandbyStatus: Sendable, Equatable {
    /// Received and written.
    public var write: LSN
    /// Durably stored: the slot's `confirmed_flush_lsn` moves here.
    public var flush: LSN
    /// Applied.
    public var apply: LSN
    /// Asks the server to answer with a keepalive.
    public var replyRequested: Bool

    /// A status update with these positions.
    public init(write: LSN, flush: LSN, apply: LSN, replyRequested: Bool = false) {
        self.write = write
        self.flush = flush
        self.apply = apply
        self.replyRequested = replyRequested
    }

    /// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
    static let postgresEpochOffset: Int64 = 946_684_800_000_000

    /// The CopyData bytes, with `clock` (microseconds since 1970-01-01 UTC) converted to
    /// PostgreSQL's epoch.
    func encoded(clockMicroseconds: Int64) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "r")]
        bytes.reserveCapacity(34)
        for value in [write.rawValue, flush.rawValue, apply.rawValue, UInt64(bitPattern: clockMicroseconds &- Self.postgresEpochOffset)] {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        bytes.append(replyRequested ? 1 : 0)
        return bytes
    }

    /// Now, in microseconds since 1970-01-01 UTC.
    static func nowMicroseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1_000_000)
    }
}
