// The client side of `derive lsp`: start the server over stdio for .claims files.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("derive");
  const [command, ...args] = config.get("command");
  const seed = String(config.get("seed"));
  const server = { command, args: [...args, "--seed", seed] };
  client = new LanguageClient("derive", "derive", server, {
    documentSelector: [{ scheme: "file", language: "claims" }],
  });
  client.start();
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
