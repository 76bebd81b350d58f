import SluiceSDK
import SluiceWire
#if canImport(Glibc)
import Glibc
#endif

/// The checks of a session's life — handshake, version negotiation, framing, ending — each
/// against a fresh plugin process, since most of them end the session on purpose.
struct SessionChecks: Sendable {
    let target: ConformanceTarget

    /// `handshake` (§3.1): Hello 1–1 is answered by HelloReply with protocol version 1, a
    /// plugin name and version, and at least one role. Returns the reply for later checks.
    func handshake() async throws -> (HelloReply, String) {
        try await target.withPlugin { probe in
            let reply = try await probe.handshake()
            guard reply.protocolVersion == 1 else {
                throw ConformanceFailure("HelloReply.protocol_version is \(reply.protocolVersion); the host speaks 1-1 (§3.1)")
            }
            guard !reply.pluginName.isEmpty, !reply.pluginVersion.isEmpty else {
                throw ConformanceFailure("HelloReply has an empty plugin_name or plugin_version")
            }
            let roles = reply.roles.filter { $0 != .unspecified }
            guard !roles.isEmpty else { throw ConformanceFailure("HelloReply lists no role (§1.1)") }
            let names = roles.map { $0 == .source ? "source" : "destination" }.joined(separator: ", ")
            return (reply, "\(reply.pluginName) \(reply.pluginVersion), protocol 1, roles: \(names)")
        }
    }

    /// `version-mismatch` (§3.1): Hello 2–3 is answered by Error{PROTOCOL,
    /// PROTOCOL_VERSION_MISMATCH}, then exit 2.
    func versionMismatch() async throws -> String {
        try await target.withPlugin { probe in
            var hello = target.hello
            hello.minProtocolVersion = 2
            hello.maxProtocolVersion = 3
            try await probe.send(.hello(hello))
            let error = try await probe.expectError(.protocol, "PROTOCOL_VERSION_MISMATCH", after: "Hello with versions 2-3")
            try await probe.expectExit(2, after: "PROTOCOL_VERSION_MISMATCH")
            return "Error{PROTOCOL, PROTOCOL_VERSION_MISMATCH} (\(ConformanceText.oneLine(error.message))), exit 2"
        }
    }

    /// `hello-first` (§3.1): a GetSpec as the first frame is Error{PROTOCOL, UNEXPECTED_MESSAGE}, then exit 2.
    func helloFirst() async throws -> String {
        try await target.withPlugin { probe in
            try await probe.send(.getSpec)
            try await probe.expectError(.protocol, "UNEXPECTED_MESSAGE", after: "GetSpecRequest as the first frame")
            try await probe.expectExit(2, after: "UNEXPECTED_MESSAGE")
            return "GetSpecRequest before Hello: Error{PROTOCOL, UNEXPECTED_MESSAGE}, exit 2"
        }
    }

    /// `bad-frame-flags` (§2.1, §2.4, §7.3): after the handshake, a frame whose flag byte is 1
    /// is Error{PROTOCOL, UNSUPPORTED_FRAME_FLAGS}, then exit 2.
    func badFrameFlags() async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            // A GetSpecRequest frame (§2.5) with flag byte 1 instead of 0.
            probe.state.step = "sending a frame with flag byte 1"
            try await probe.client.sendRaw([0x01, 0x00, 0x00, 0x00, 0x02, 0x12, 0x00])
            try await probe.expectError(.protocol, "UNSUPPORTED_FRAME_FLAGS", after: "a frame with flag byte 1")
            try await probe.expectExit(2, after: "UNSUPPORTED_FRAME_FLAGS")
            return "flag byte 1: Error{PROTOCOL, UNSUPPORTED_FRAME_FLAGS}, exit 2"
        }
    }

    /// `close` (§3.4): Close after the handshake ends the session with exit 0, and so does the
    /// end of input between calls.
    func close() async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            try await probe.closeCleanly(after: "the handshake")
        }
        try await target.withPlugin { probe in
            try await probe.handshake()
            probe.client.process.closeInput()
            if let message = try await probe.next("the end of the output after the end of input") {
                throw ConformanceFailure("after the end of input, \(ConformanceText.name(message)) arrived that belongs to no call")
            }
            try await probe.expectExit(0, after: "the end of input between calls")
        }
        return "Close → exit 0; end of input between calls → exit 0"
    }

    /// `sigterm` (§6.2): SIGTERM to a plugin with no call running ends it with exit 130.
    func sigterm() async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            probe.client.process.send(signal: SIGTERM)
            try await probe.expectExit(130, after: "SIGTERM with no call running")
            return "SIGTERM while idle → exit 130"
        }
    }
}
