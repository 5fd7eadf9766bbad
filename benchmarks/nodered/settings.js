/**
 * Node-RED settings for benchmarks/vs_nodered.py: headless on loopback, no editor, no HTTP server.
 *
 * The benchmark starts `node red.js --settings <this file> --userDir <a fresh temporary directory>`
 * after copying flows.json there and writing the broker's credentials into flows_cred.json
 * (unencrypted: credentialSecret is false). The broker's port reaches the flow through
 * PETRA_BENCH_MQTT_PORT (an environment variable property, "${PETRA_BENCH_MQTT_PORT}").
 */
module.exports = {
    flowFile: "flows.json",
    credentialSecret: false,
    flowFilePretty: true,

    // No editor, no admin API, no HTTP nodes: red.js then opens no HTTP server at all.
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    uiHost: "127.0.0.1",
    uiPort: 0,

    diagnostics: {enabled: false, ui: false},
    runtimeState: {enabled: false, ui: false},
    telemetry: {enabled: false, updateNotification: false},
    editorTheme: {projects: {enabled: false}},

    logging: {console: {level: "warn", metrics: false, audit: false}},
    exportGlobalContextKeys: false,
    externalModules: {autoInstall: false},
    functionExternalModules: false,
    functionTimeout: 0,
    mqttReconnectTime: 1000,
    functionGlobalContext: {},
};
