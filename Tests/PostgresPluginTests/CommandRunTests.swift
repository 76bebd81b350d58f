import Foundation
import Testing

/// The tests' command runner kills a command past its timeout. (That waiting for commands
/// leaves Swift's concurrency pool free is not tested here: the pool is shared with every test
/// running beside it, so a check by timing would fail whenever CPU-bound tests fill it.)
@Suite("Test support: CommandRun")
struct CommandRunTests {
    @Test("a command past its timeout is killed and reported as timed out")
    func timeout() async throws {
        let result = try await CommandRun.run(URL(fileURLWithPath: "/bin/sleep"), ["600"], timeout: 1)
        #expect(result.timedOut)
        #expect(result.exitCode == 128 + SIGKILL)
    }
}
