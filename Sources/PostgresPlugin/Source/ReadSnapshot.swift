import Foundation
import Logging
import PostgresClient
import SluiceSDK
import SluiceWire

/// The text form of a `pg_snapshot`, `xmin:xmax:xip,…` (64-bit transaction ids).
struct SnapshotText: Sendable, Equatable {
    var xmin: Int64
    var xmax: Int64
    /// Transactions in progress, ascending, each in `[xmin, xmax)`.
    var xip: [Int64]

    init(xmin: Int64, xmax: Int64, xip: [Int64]) {
        self.xmin = xmin
        self.xmax = xmax
        self.xip = xip
    }

    /// Parses the server's rendering; nil for anything else.
    init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, let xmin = Self.xid(parts[0]), let xmax = Self.xid(parts[1]), xmin <= xmax else { return nil }
        var xip: [Int64] = []
        if !parts[2].isEmpty {
            for part in parts[2].split(separator: ",", omittingEmptySubsequences: false) {
                guard let value = Self.xid(part), value >= xmin, value < xmax, value > xip.last ?? -1 else { return nil }
                xip.append(value)
            }
        }
        self.init(xmin: xmin, xmax: xmax, xip: xip)
    }

    var text: String { "\(xmin):\(xmax):" + xip.map(String.init).joined(separator: ",") }

    static func isValid(_ text: String) -> Bool { SnapshotText(text) != nil }

    private static func xid(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.count <= 19, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(text)
    }
}

/// Captures the snapshot of an incremental read, in its transaction, in the form a later read
/// can test row versions against with `pg_visible_in_snapshot`.
///
/// `pg_current_snapshot()` lists only top-level transactions in progress, so a row written in a
/// subtransaction (a savepoint, a PL/pgSQL exception block) of a transaction in progress, with an
/// id below the snapshot's `xmax`, would look visible. So, just before the read's transaction
/// takes its snapshot, ``list(_:logger:)`` lists every transaction id then in progress,
/// subtransactions included (`pg_xact_status` from the oldest one on); ``capture(_:listing:stream:)``
/// adds them to the snapshot's own list, and counts every id from the end of the listed range on
/// as unseen. A subtransaction of a transaction still running when the snapshot is taken was
/// running when it was listed, so it is always listed; what is listed but had ended by then, and
/// what started in between, is read again at worst. Where listing is not possible (more than
/// ``maximumWindow`` ids, or a standby, whose snapshots do not list transactions in progress)
/// every row version from the snapshot's `xmin` on counts as unseen. Either way the result never
/// shows a row version as visible that was not.
enum ReadSnapshot {
    /// The most transaction ids between the oldest one in progress and the newest listed one by one.
    static let maximumWindow: Int64 = 1_000_000

    /// Transaction ids in progress just before a read's snapshot.
    struct Listing: Sendable {
        /// Ids in progress, subtransactions included; nil when they could not be listed.
        var inProgress: Set<Int64>?
        /// Ids from this one on were not listed.
        var end: Int64
    }

    /// Lists the transactions in progress; run outside the read's transaction, just before it begins.
    static func list(_ connection: PostgresConnection, logger: Logger) async throws -> Listing {
        let row = try await connection.execute(
            "SELECT pg_current_snapshot()::text, pg_is_in_recovery()::text").rows.first ?? []
        guard row.count == 2, let text = row[0], let snapshot = SnapshotText(text) else {
            throw PluginError(category: .system, code: "SNAPSHOT", message: "unexpected answer from pg_current_snapshot()")
        }
        let window = snapshot.xmax - snapshot.xmin
        guard window > 0 else { return Listing(inProgress: [], end: snapshot.xmax) }
        if row[1] == "true" || window > maximumWindow {
            logger.info("\(window) transaction ids since the oldest one in progress\(row[1] == "true" ? " on a standby" : ""); rows written from transaction \(snapshot.xmin) on will be read again next time")
            return Listing(inProgress: nil, end: snapshot.xmax)
        }
        let listed = try await connection.execute("""
            SELECT coalesce(string_agg(x::text, ','), '') FROM generate_series($1::bigint, $2::bigint) x
            WHERE pg_xact_status(x::text::xid8) = 'in progress'
            """, [.text(String(snapshot.xmin)), .text(String(snapshot.xmax - 1))]).rows.first?[0] ?? ""
        var inProgress = Set(snapshot.xip)
        for part in listed.split(separator: ",") {
            guard let value = Int64(part) else {
                throw PluginError(category: .system, code: "SNAPSHOT", message: "unexpected transaction id from pg_xact_status")
            }
            inProgress.insert(value)
        }
        return Listing(inProgress: inProgress, end: snapshot.xmax)
    }

    /// The read's snapshot (taken by its transaction), completed with `listing`.
    static func capture(_ connection: PostgresConnection, listing: Listing, stream: StreamID) async throws -> SnapshotText {
        let text = try await connection.execute("SELECT pg_current_snapshot()::text").rows.first?.first ?? nil
        guard let text, let snapshot = SnapshotText(text) else {
            throw PluginError(category: .system, code: "SNAPSHOT", message: "stream \(stream): unexpected answer from pg_current_snapshot()")
        }
        guard let listed = listing.inProgress else { return SnapshotText(xmin: snapshot.xmin, xmax: snapshot.xmin, xip: []) }
        let xmax = min(snapshot.xmax, max(listing.end, snapshot.xmin))
        let xip = Set(snapshot.xip).union(listed).filter { $0 >= snapshot.xmin && $0 < xmax }
        return SnapshotText(xmin: snapshot.xmin, xmax: xmax, xip: xip.sorted())
    }

    /// Whether `saved` can still be tested against: row ids are mapped to 64 bits relative to the
    /// current snapshot, which is exact within 2^31 transactions; a snapshot from the future (a
    /// restored or another server) cannot be used.
    static func usable(_ saved: SnapshotText, connection: PostgresConnection) async throws -> Bool {
        let answer = try await connection.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").rows.first?.first
        guard let text = answer ?? nil, let current = Int64(text) else { return false }
        return saved.xmax <= current && current - saved.xmin < 2_000_000_000
    }
}
