import Testing
import SluiceWire
@testable import PostgresPlugin

/// What a read stream's incomplete status says: the error as the protocol reports it, or that
/// the read was cancelled, never a Swift type's name (`CancellationError()`).
@Suite("Plugin errors in stream statuses")
struct PluginErrorsTests {
    @Test("a cancelled read says so in words")
    func cancelled() {
        let message = PluginErrors.incompleteRead(PluginErrors.map(CancellationError(), stream: nil, otherCode: "READ_FAILED"))
        #expect(message == "the read was cancelled before the stream was complete")
    }

    @Test("a failed read gives the error's code and message")
    func failed() {
        let error = PluginError(category: .data, code: "READ_FAILED", message: "stream s: the value is bad")
        let message = PluginErrors.incompleteRead(error)
        #expect(message.contains("READ_FAILED") && message.contains("the value is bad") && !message.contains("PluginError("), "\(message)")
    }
}
