/* Agora passkeys (WebAuthn): Agora's own script, nothing loaded from elsewhere.
 *
 * Each element with data-passkey="signin|register|confirm" holds a start button, an
 * output line for messages and the URLs of its two steps: the server's options (with a
 * single-use challenge) and the check of the browser's answer. Both are POSTs with the
 * page's CSRF token in the X-CSRFToken header; the server answers JSON:
 * {"redirect": url} or {"error": "translated text"}. Texts for errors that happen in the
 * browser (cancelled, not supported) come from data-msg-* attributes, already translated.
 * Without this script (or without passkey support) the blocks stay hidden and the
 * password, the sign-in link and the authenticator app work as before.
 */
(function () {
  "use strict";

  function toBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = window.atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.getAttribute("content") : "";
  }

  function post(url, body) {
    return window.fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      if (response.redirected) {
        // The server wants a fresh second factor first: go to that page.
        window.location.assign(response.url);
        return new Promise(function () {});
      }
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.error || ""); }
        return data;
      });
    });
  }

  function creationOptions(options) {
    options.challenge = toBuffer(options.challenge);
    options.user.id = toBuffer(options.user.id);
    (options.excludeCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
    return options;
  }

  function requestOptions(options) {
    options.challenge = toBuffer(options.challenge);
    (options.allowCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
    return options;
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      json.response.attestationObject = toText(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(response.authenticatorData);
      json.response.signature = toText(response.signature);
      json.response.userHandle = toText(response.userHandle);
    }
    return json;
  }

  function setUp(block) {
    var kind = block.getAttribute("data-passkey");
    var button = block.querySelector("[data-passkey-start]");
    var output = block.querySelector("[data-passkey-status]");
    var nameInput = block.querySelector("[data-passkey-name]");

    function say(text) {
      output.textContent = text;
      output.hidden = !text;
      if (nameInput) {
        nameInput.setAttribute("aria-invalid", text ? "true" : "false");
      }
    }

    function extra() {
      var data = { next: block.getAttribute("data-next") || "" };
      var remember = document.getElementById(block.getAttribute("data-remember") || "");
      if (remember) { data.remember = remember.checked; }
      if (nameInput) { data.name = nameInput.value; }
      return data;
    }

    button.addEventListener("click", function (event) {
      event.preventDefault();
      say("");
      button.disabled = true;
      var body = extra();
      post(block.getAttribute("data-options-url"), body)
        .then(function (options) {
          if (kind === "register") {
            return navigator.credentials.create({ publicKey: creationOptions(options) });
          }
          return navigator.credentials.get({ publicKey: requestOptions(options) });
        }, function (error) { error.fromServer = true; throw error; })
        .then(function (credential) {
          body.credential = credentialJSON(credential);
          return post(block.getAttribute("data-verify-url"), body);
        })
        .then(function (data) { window.location.assign(data.redirect); })
        .catch(function (error) {
          button.disabled = false;
          if (error && error.name === "NotAllowedError") {
            say(block.getAttribute("data-msg-cancelled"));
          } else if (error && error.name === "InvalidStateError") {
            say(block.getAttribute("data-msg-exists"));
          } else {
            say((error && error.message && (error.fromServer || !error.name || error.name === "Error"))
              ? error.message : block.getAttribute("data-msg-failed"));
          }
        });
    });
  }

  var supported = window.PublicKeyCredential && navigator.credentials && window.isSecureContext;
  document.querySelectorAll("[data-passkey]").forEach(function (block) {
    if (!supported) { return; }
    setUp(block);
    block.hidden = false;
    var fallback = document.getElementById(block.getAttribute("data-fallback") || "");
    if (fallback) { fallback.hidden = true; }
  });
}());
