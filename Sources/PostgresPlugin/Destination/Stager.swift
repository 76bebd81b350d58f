import Foundation
import Logging
import PostgresClient

/// A table in the target's schema holding one flush's staged rows: filled and committed on the
/// ``Stager``'s connection, read by the flush's MERGE on its lane's.
struct StagingSlot: Sendable, Hashable {
    var schema: String
    var name: String
    /// The staging layout it has: the plan's session staging table (``WritePlan/staging``).
    var layout: String

    var qualified: String { SQL.quoteQualified(schema: schema, name: name) }
}

/// Stages upserts ahead: while a lane's connection runs one flush's MERGE, a connection of its
/// own COPYs the next flush's rows into a staging slot (an unlogged table) and commits them, so
/// the lane goes from MERGE to MERGE instead of COPY, MERGE, COPY, MERGE.
///
/// The session uses it only with a connection to spare under `max_connections` (fewer streams
/// than lanes), `transaction_scope: state`, no CDC, and lane transactions that see rows committed
/// before each statement (READ COMMITTED): a MERGE must see the slot its rows were committed to.
/// It only speeds things up: a flush whose rows could not be staged here stages them on its own
/// connection as before (which also names a refused value by its row), and the stager is not
/// used again in the Write.
///
/// A slot is filled again only once the lane transaction that read it has committed (its lock
/// is released then); slots of rolled-back transactions stay unused. The Write drops its slots
/// when it ends. Slots a killed plugin left (named after the stager's backend pid,
/// `_sluice_stage_<pid>_<n>`) are dropped by the next stager that finds that backend gone.
final class Stager: @unchecked Sendable {
    // @unchecked: `failed`, `cancelled` and `tasks` are guarded by `lock`; the other properties
    // are used only from the session's task.
    private let lock = NSLock()
    private var failed = false
    private var cancelled = false
    /// The latest staging tasks: per lane, one running ahead and one whose flush may still read
    /// it (earlier ones have ended).
    private var tasks: [Task<Void, any Error>] = []

    private let open: () async throws -> PostgresConnection
    private let logger: Logger
    private let maxHeldBytes: Int
    private var connection: PostgresConnection?
    private var prefix = ""
    private var counter = 0
    private var created: [StagingSlot] = []
    private var free: [String: [StagingSlot]] = [:]
    /// The COPY data in slots whose transaction has not committed yet, by slot name.
    private var held: [String: Int] = [:]
    private var heldBytes = 0

    /// The most COPY data held in slots waiting for their transactions to commit: past it,
    /// flushes stage on their own connection until a commit frees slots. Slots are not emptied
    /// within a transaction (its MERGEs keep them locked), so this bounds the server's scratch
    /// space when states come rarely. A small table read in one pass (under the source's
    /// `resumable_read_min_bytes`) comes in one transaction: its staged rows, with the metadata
    /// and TOAST-compressed values expanded, stay within 1.5 times that (384 MiB).
    static let maxHeldBytes = SourceSettings.defaultResumableReadMinBytes * 3 / 2

    /// What the names of staging slots start with (then the stager's backend pid, `_`, a number).
    static let slotPrefix = "_sluice_stage_"
    /// A LIKE pattern matching every slot name.
    static let slotPattern = slotPrefix.replacingOccurrences(of: "_", with: #"\_"#) + "%"

    /// `open`: connects a new session as the Write's lanes do.
    init(logger: Logger, maxHeldBytes: Int = Stager.maxHeldBytes, open: @escaping () async throws -> PostgresConnection) {
        self.logger = logger
        self.maxHeldBytes = maxHeldBytes
        self.open = open
    }

    /// Whether staging ahead is still on: nothing failed and the Write was not cancelled.
    var isUsable: Bool { lock.withLock { !failed && !cancelled } }

    /// Starts copying `chunks` (a staging COPY's data for `plan`) into a free slot, committed on
    /// the stager's connection; nil when the stager is off or would hold over its maximum
    /// (``maxHeldBytes``).
    func stage(_ plan: WritePlan, chunks: [[UInt8]]) async -> Prestage? {
        let bytes = chunks.reduce(0) { $0 + $1.count }
        guard isUsable, heldBytes + bytes <= maxHeldBytes else { return nil }
        let connection: PostgresConnection
        do {
            connection = try await connected()
        } catch {
            markFailed(error)
            return nil
        }
        let reused = free[plan.staging]?.popLast()
        let slot = reused ?? newSlot(plan)
        held[slot.name] = bytes
        heldBytes += bytes
        let staged = plan.stagedIn(slot)
        let prepare = reused == nil ? plan.createSlot(slot) : "TRUNCATE \(slot.qualified)"
        let sql = "BEGIN; \(prepare); \(staged.copyIntoStaging)"
        let task = Task { [self] in
            do {
                try await withTaskCancellationHandler {
                    _ = try await connection.copyIn(sql, chunks: chunks, followUp: "COMMIT")
                } onCancel: {
                    connection.cancel()
                }
            } catch {
                markFailed(error)
                throw error
            }
        }
        register(task)
        return Prestage(slot: slot, task: task)
    }

    /// Makes `slots` free again: the transactions that read them have committed.
    func release(_ slots: [StagingSlot]) {
        for slot in slots {
            heldBytes -= held.removeValue(forKey: slot.name) ?? 0
            free[slot.layout, default: []].append(slot)
        }
    }

    /// Cancels the staging under way, now and from now on (callable from any thread).
    func cancelAll() {
        let running = lock.withLock {
            cancelled = true
            return tasks
        }
        for task in running { task.cancel() }
    }

    /// Waits for the staging under way, drops every slot and closes the connection. Call once
    /// the lanes' transactions have ended (a slot read by an open one would wait for its lock).
    func close() async {
        guard let connection else { return }
        self.connection = nil
        defer { connection.close() }
        for task in lock.withLock({ tasks }) { _ = try? await task.value }
        guard !created.isEmpty else { return }
        let drop = "DROP TABLE IF EXISTS \(created.map(\.qualified).joined(separator: ", "))"
        if lock.withLock({ failed }), connection.isAlive { _ = try? await connection.execute("ROLLBACK") }
        // Twice: a cancel request sent for a COPY that had just ended can reach the DROP instead.
        for _ in 0..<2 where connection.isAlive {
            if (try? await connection.execute(drop)) != nil { return }
        }
        // Its connection lost: a new one drops them (else a later stager will, their backend gone).
        guard let other = try? await open() else { return }
        _ = try? await other.executeScript("SET lock_timeout = '5s'; \(drop)")
        other.close()
    }

    private func connected() async throws -> PostgresConnection {
        if let connection { return connection }
        let connection = try await open()
        do {
            let pid = try await connection.execute("SELECT pg_backend_pid()").rows.first?.first ?? nil
            prefix = "\(Self.slotPrefix)\(pid ?? "0")_"
            // A DROP at the end never waits long for a lock (it is only clean-up).
            _ = try await connection.execute("SET lock_timeout = '5s'")
            try await dropLeftovers(on: connection)
        } catch {
            connection.close()
            throw error
        }
        self.connection = connection
        return connection
    }

    /// Drops the slots of stagers whose backend is gone (a plugin killed before its end), where
    /// this role may: unlogged tables named `_sluice_stage_<pid>_<n>` with no backend `pid`.
    private func dropLeftovers(on connection: PostgresConnection) async throws {
        let leftovers = try await connection.execute("""
            SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND c.relpersistence = 'u' AND c.relname LIKE $1
              AND pg_has_role(c.relowner, 'USAGE')
              AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid::text = split_part(c.relname, '_', 4))
            """, [.text(Self.slotPattern)]).rows.compactMap { $0.first ?? nil }
        for table in leftovers {
            // Quoted by the server's format('%I.%I').
            do {
                _ = try await connection.execute("DROP TABLE IF EXISTS \(table)")
            } catch {
                logger.debug("could not drop the staging slot \(table) a killed Write left: \(error)")
            }
        }
    }

    private func newSlot(_ plan: WritePlan) -> StagingSlot {
        counter += 1
        let slot = StagingSlot(schema: plan.schemaName, name: "\(prefix)\(counter)", layout: plan.staging)
        created.append(slot)
        return slot
    }

    private func register(_ task: Task<Void, any Error>) {
        let cancel = lock.withLock {
            tasks = tasks.suffix(2 * 8 - 1) + [task] // 8 lanes at most (`max_connections`)
            return cancelled
        }
        if cancel { task.cancel() }
    }

    private func markFailed(_ error: any Error) {
        let first = lock.withLock {
            defer { failed = true }
            return !failed && !cancelled
        }
        if first, !(error is CancellationError) {
            logger.warning("staging upserts ahead on a second connection stopped (\(error)); each flush stages its rows on its own connection")
        }
    }
}

/// A flush's rows being copied ahead into a staging slot (``Stager/stage(_:chunks:)``).
struct Prestage: Sendable {
    let slot: StagingSlot
    let task: Task<Void, any Error>

    /// The slot, once the rows are committed in it; nil when staging them failed.
    func ready() async -> StagingSlot? {
        do {
            try await task.value
            return slot
        } catch {
            return nil
        }
    }
}
