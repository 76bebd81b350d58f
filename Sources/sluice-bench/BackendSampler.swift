import Foundation
import PostgresClient

/// The CPU time of the server backends a run used, and the time they waited for a core, read
/// from `/proc/<pid>/schedstat` (else `/proc/<pid>/stat`, CPU only) of every client backend
/// `pg_stat_activity` shows while the run goes on (every 20 ms, so a backend's last 20 ms before
/// it exits may be missed). A backend counts as reading once it was seen
/// running a `COPY … TO STDOUT`, as writing once seen running `COPY … FROM STDIN`, an `INSERT`
/// or a `MERGE`; others are not counted. Works only where the server runs on this machine.
final class BackendSampler: @unchecked Sendable {
    /// CPU seconds of the reading and writing backends, and seconds they were ready to run but
    /// waited for a core (nil where the kernel does not keep schedstat).
    struct Totals {
        var reading: Double = 0
        var writing: Double = 0
        var readingWait: Double? = 0
        var writingWait: Double? = 0
    }

    /// What one read of a backend's counters gave.
    private struct Sample {
        var cpuSeconds: Double
        var waitSeconds: Double?
    }

    private enum Role { case reading, writing }

    private let lock = NSLock()
    private var seen: [Int: (role: Role?, sample: Sample)] = [:]
    private var task: Task<Void, Never>?
    private static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// Starts sampling over a connection of its own; nil when the server's processes can't be
    /// read from here.
    static func start() async -> BackendSampler? {
        guard let db = try? await PostgresConnection.connect(BenchEnvironment.connection),
              let own = try? await db.execute("SELECT pg_backend_pid()").rows.first?[0].flatMap(Int.init),
              sample(of: own) != nil else { return nil }
        let sampler = BackendSampler()
        sampler.task = Task {
            defer { db.close() }
            while !Task.isCancelled {
                guard let result = try? await db.execute("""
                    SELECT pid, query FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                    """) else { return }
                for row in result.rows {
                    guard let pid = row[0].flatMap(Int.init), let sample = sample(of: pid) else { continue }
                    sampler.record(pid: pid, role: role(of: row[1] ?? ""), sample: sample)
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        return sampler
    }

    /// Stops sampling and returns the totals.
    func stop() async -> Totals {
        task?.cancel()
        await task?.value
        return lock.withLock {
            var totals = Totals()
            for (role, sample) in seen.values {
                switch role {
                case .reading?:
                    totals.reading += sample.cpuSeconds
                    totals.readingWait = totals.readingWait.flatMap { total in sample.waitSeconds.map { total + $0 } }
                case .writing?:
                    totals.writing += sample.cpuSeconds
                    totals.writingWait = totals.writingWait.flatMap { total in sample.waitSeconds.map { total + $0 } }
                case nil: break
                }
            }
            return totals
        }
    }

    private func record(pid: Int, role: Role?, sample: Sample) {
        lock.withLock {
            let known = seen[pid]
            // The counters only grow: keep the latest reading.
            let latest = known.map { $0.sample.cpuSeconds > sample.cpuSeconds ? $0.sample : sample } ?? sample
            seen[pid] = (known?.role ?? role, latest)
        }
    }

    private static func role(of query: String) -> Role? {
        let text = query.uppercased()
        if text.contains("TO STDOUT") { return .reading }
        // A staged upsert's MERGE may follow its statistics guard and counter reset in one query.
        if text.contains("FROM STDIN") || text.hasPrefix("INSERT") || text.contains("MERGE INTO") { return .writing }
        return nil
    }

    /// Process `pid`'s counters: from schedstat (nanoseconds on a core, then waiting in the run
    /// queue), else its stat line's CPU alone.
    private static func sample(of pid: Int) -> Sample? {
        if let schedstat = try? String(contentsOfFile: "/proc/\(pid)/schedstat", encoding: .utf8) {
            let fields = schedstat.split(separator: " ")
            if fields.count >= 2, let running = Double(fields[0]), let waiting = Double(fields[1]) {
                return Sample(cpuSeconds: running / 1e9, waitSeconds: waiting / 1e9)
            }
        }
        return cpuSeconds(of: pid).map { Sample(cpuSeconds: $0, waitSeconds: nil) }
    }

    /// User plus system CPU seconds of process `pid` (fields 14 and 15 of its stat line).
    private static func cpuSeconds(of pid: Int) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / ticksPerSecond
    }
}
