import Testing
@testable import Media

@Suite struct MediaFactsTests {
    @Test func kernelArgumentsAreTalosMetalDefaults() {
        #expect(TalosMediaFacts.defaultKernelArguments.first == "talos.platform=metal")
        #expect(TalosMediaFacts.defaultKernelArguments.contains("module.sig_enforce=1"))
        #expect(TalosMediaFacts.configVolumeLabel == "metal-iso")
    }
}
