import Foundation
import Synchronization
import Testing

/// The tests' command runner: it kills a command past its timeout, and waiting for commands
/// leaves Swift's concurrency pool free for the tests running beside them.
@Suite("Test support: CommandRun")
struct CommandRunTests {
    @Test("a command past its timeout is killed and reported as timed out")
    func timeout() async throws {
        let result = try await CommandRun.run(URL(fileURLWithPath: "/bin/sleep"), ["600"], timeout: 1)
        #expect(result.timedOut)
        #expect(result.exitCode == 128 + SIGKILL)
    }

    @Test("waiting for more commands than the pool has threads still lets other tasks run")
    func poolStaysFree() async throws {
        // Each command sleeps 6 s; a task sleeping 10 ms at a time must tick 50 times before
        // the first command ends (a blocked pool lets it tick only once the commands end).
        final class Progress: Sendable {
            let firstEnded = Atomic<Bool>(false)
            let ticksBeforeFirstEnd = Atomic<Int>(0)
        }
        let progress = Progress()
        let commands = ProcessInfo.processInfo.activeProcessorCount + 1
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0 ..< commands {
                group.addTask {
                    let result = try await CommandRun.run(URL(fileURLWithPath: "/bin/sleep"), ["6"])
                    progress.firstEnded.store(true, ordering: .sequentiallyConsistent)
                    #expect(result.exitCode == 0 && !result.timedOut)
                }
            }
            group.addTask {
                for _ in 0 ..< 50 {
                    try await Task.sleep(for: .milliseconds(10))
                    if progress.firstEnded.load(ordering: .sequentiallyConsistent) { return }
                    progress.ticksBeforeFirstEnd.add(1, ordering: .sequentiallyConsistent)
                }
            }
            try await group.waitForAll()
        }
        #expect(progress.ticksBeforeFirstEnd.load(ordering: .sequentiallyConsistent) == 50, "other tasks waited for the commands")
    }
}
