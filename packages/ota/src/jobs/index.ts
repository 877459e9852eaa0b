/**
 * `@outpost/ota/jobs`: the OTA agent wired to `@outpost/jobs` — jobs from the AWS IoT Jobs
 * channel, images over MQTT streams, HTTP ranges and CoAP blocks, and a runnable agent over
 * files on disk. The main entry `@outpost/ota` does not import `@outpost/jobs`: a device that
 * brings its own transport implements `OtaJobSource` and `OtaDownloader` itself.
 *
 * @packageDocumentation
 * @module @outpost/ota/jobs
 */

export { otaJobSource } from './job-source.js';
export type { OtaJobSourceOptions } from './job-source.js';
export { streamDownloader, httpDownloader, coapDownloader, imageDownloader } from './downloaders.js';
export type { DownloadReport, DownloaderCommon, StreamDownloaderOptions, HttpDownloaderOptions, CoapDownloaderOptions } from './downloaders.js';
export { runOtaAgent, provisionOtaDevice, OTA_REBOOT_EXIT_CODE, OTA_DEVICE_FILES } from './run-agent.js';
export type { RunOtaAgentOptions, ProvisionOtaDeviceOptions } from './run-agent.js';
