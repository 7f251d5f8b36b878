// js_script_error_lib.js: required by js_script_error.js; its errors must
// name this file (lines 4 and 7).
exports.fail = function () {
	null.field = 1;
};
exports.recurse = function (n) {
	return exports.recurse(n + 1) + 1;
};
