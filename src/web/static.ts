import type Koa from 'koa';

/** The stylesheet and the copy button's script: served by keyport, no CDN. */
const CSS = `*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#f5f6f8;color:#1b1f24}
main{max-width:28rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin-top:0}h2{font-size:1.15rem}label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{width:100%;padding:.6rem;font-size:1rem;border:1px solid #b8bec7;border-radius:6px}
button{padding:.6rem 1rem;font-size:1rem;border-radius:6px;border:1px solid #2458c6;background:#2f6fed;color:#fff;cursor:pointer;margin-top:1rem}
button.secondary{background:#fff;color:#2458c6}.error{color:#b3261e;font-weight:600}
ul.scopes{padding-left:1.2rem}code.value{display:block;padding:.75rem;background:#f0f2f5;border-radius:6px;word-break:break-all;font-size:1.1rem}dl.details dd{overflow-wrap:anywhere;min-width:0}
.row{display:flex;gap:.5rem;flex-wrap:wrap}
a{color:#1d4fb8}:focus-visible{outline:3px solid #1d4fb8;outline-offset:2px}
body.dashboard main.wide{max-width:80rem;margin:1rem auto}
header.top{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;justify-content:space-between;padding:.5rem 1rem;background:#1b1f24;color:#fff}
header.top a{color:#fff;margin-right:1rem}header.top a[aria-current=page]{font-weight:700;text-decoration:underline}
.brand{font-weight:700}.signout button{margin:0;background:#fff;color:#1b1f24}
.table-wrap{overflow-x:auto}table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #dde1e6;white-space:nowrap}caption{text-align:left;font-weight:600}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:999px;background:#e6f4ea;color:#0d5223;font-size:.85rem}
.badge.revoked,.badge.expired,.badge.leaked{background:#fde8e7;color:#8c1d18}.badge.expires-soon,.badge.expiring{background:#fff4e5;color:#7a4100}
.badge.never-used,.badge.unused-for-30-days{background:#eef0f3;color:#3b4350}
.badge.failing,.badge.pending{background:#fff4e5;color:#7a4100}.badge.disabled,.badge.failed{background:#fde8e7;color:#8c1d18}
td form button{margin:0;padding:.3rem .75rem}td.answer{white-space:normal;overflow-wrap:anywhere}dl.details dd{min-width:0;overflow-wrap:anywhere}
/* "expires in N days" goes under the date, so the column stays as wide as a date. */
td.expires .badge.expiring{display:block;width:max-content;margin-top:.15rem}
.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end}.filters div{flex:1 1 10rem;max-width:20rem}
select,textarea{width:100%;padding:.6rem;font-size:1rem;border:1px solid #b8bec7;border-radius:6px;background:#fff}
.narrow{max-width:32rem}fieldset{border:1px solid #dde1e6;border-radius:6px;margin:.75rem 0}
.check{display:flex;gap:.5rem;align-items:flex-start;margin:.35rem 0}.check input{width:auto;margin-top:.3rem}.check label{margin:0;font-weight:400}
a.button{display:inline-block;padding:.6rem 1rem;border-radius:6px;border:1px solid #2458c6;background:#2f6fed;color:#fff;text-decoration:none}
a.button.secondary{background:#fff;color:#2458c6}.danger,a.button.danger{background:#b3261e;border-color:#8c1d18;color:#fff}
.secret-panel{border:2px solid #c77700;border-radius:8px;padding:1rem;background:#fffaf0}
dl.details{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dl.details dd{margin:0}
.chart svg{width:100%;height:10rem;background:#fafbfc;border:1px solid #dde1e6}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1rem}.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem}
.swatch.valid{background:#2f6fed}.swatch.rate_limited{background:#c77700}.swatch.usage_exceeded{background:#8e44ad}.swatch.insufficient_scope{background:#b3261e}.swatch.forbidden_ip{background:#5d4037}
nav.pages{margin:1rem 0}
table.cards td.name,table.events td.what{white-space:normal;overflow-wrap:anywhere;min-width:8rem}
nav.tabs{display:flex;flex-wrap:wrap;gap:.25rem;border-bottom:1px solid #dde1e6;margin:1rem 0}
nav.tabs a{padding:.4rem .75rem;border-radius:6px 6px 0 0;text-decoration:none}nav.tabs a[aria-current=page]{border:1px solid #dde1e6;border-bottom:2px solid #fff;margin-bottom:-1px;font-weight:700;color:#1b1f24}
section.metric code{overflow-wrap:anywhere;word-break:break-all}
ul.kinds{list-style:none;padding:0;display:grid;gap:.75rem;max-width:40rem}
ul.kinds a{display:block;padding:1rem;border:1px solid #b8bec7;border-radius:8px;text-decoration:none;color:#1b1f24}ul.kinds a:hover{border-color:#2458c6}
ul.kinds strong{display:block;color:#1d4fb8}ul.kinds span{display:block;color:#3b4350;font-size:.95rem}
.row .button,.row button{margin-top:1rem}
@media (max-width:480px){main,body.dashboard main.wide{margin:0;border-radius:0;padding:1rem}header.top{padding:.5rem}}
@media (max-width:640px){table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
table.cards,table.cards tbody,table.cards tr,table.cards caption{display:block;width:100%}
table.cards tr{border:1px solid #dde1e6;border-radius:8px;padding:.5rem .75rem;margin:.5rem 0;background:#fff}
table.cards td{display:flex;justify-content:space-between;gap:1rem;border:0;padding:.15rem 0;white-space:normal;overflow-wrap:anywhere;text-align:right}
table.cards td[data-label]::before{content:attr(data-label);font-weight:600;color:#3b4350;text-align:left;flex:none}
table.cards td.name{font-weight:600;font-size:1.05rem;text-align:left}table.cards .wide-only{display:none}}`;

const COPY_JS = `document.addEventListener('DOMContentLoaded',function(){var b=document.getElementById('copy');if(!b)return;
b.addEventListener('click',function(){var v=document.getElementById('code').textContent;navigator.clipboard.writeText(v).then(function(){b.textContent='Copied';});});});`;

/**
 * The one-time link page: on Reveal, take the ciphertext (once) and decrypt
 * it here with the key from the URL's fragment, which never reached keyport.
 * The fragment is then removed from the address bar and history.
 */
const REVEAL_JS = `document.addEventListener('DOMContentLoaded',function(){
var b=document.getElementById('reveal');if(!b)return;
var key=location.hash.slice(1);history.replaceState(null,'',location.pathname);
function bytes(s){s=s.replace(/-/g,'+').replace(/_/g,'/');while(s.length%4)s+='=';var r=atob(s),a=new Uint8Array(r.length);for(var i=0;i<r.length;i++)a[i]=r.charCodeAt(i);return a;}
function say(t){var m=document.getElementById('message');m.textContent=t;m.hidden=false;}
b.addEventListener('click',function(){b.disabled=true;
if(!key){say('This link is incomplete: the part after # is missing. Open the whole link you were sent.');return;}
fetch(location.pathname+'/reveal',{method:'POST',headers:{'x-keyport-reveal':'1'},credentials:'omit',cache:'no-store'})
.then(function(r){return r.json().then(function(j){if(!r.ok)throw new Error(j.message||'This link was already used or has expired.');return j;});})
.then(function(j){var data=bytes(j.ciphertext);return crypto.subtle.importKey('raw',bytes(key),'AES-GCM',false,['decrypt']).then(function(k){return crypto.subtle.decrypt({name:'AES-GCM',iv:data.slice(0,12)},k,data.slice(12));});})
.then(function(plain){document.getElementById('secret').textContent=new TextDecoder().decode(plain);document.getElementById('revealed').hidden=false;b.hidden=true;key='';})
.catch(function(e){say(e.message);});});
var c=document.getElementById('copy-secret');if(c)c.addEventListener('click',function(){navigator.clipboard.writeText(document.getElementById('secret').textContent).then(function(){c.textContent='Copied';});});
});`;

/**
 * The dashboard: copy buttons, a confirmation before leaving a page that
 * shows a secret once, and a public-key file read into its text box.
 */
const DASHBOARD_JS = `document.addEventListener('DOMContentLoaded',function(){
document.querySelectorAll('button[data-copy]').forEach(function(b){b.addEventListener('click',function(){
navigator.clipboard.writeText(document.getElementById(b.getAttribute('data-copy')).textContent).then(function(){b.textContent='Copied';});});});
var panel=document.querySelector('[data-confirm-leave]');
if(panel){var leaving=false;var text=panel.getAttribute('data-confirm-leave');
window.addEventListener('beforeunload',function(e){if(leaving)return;e.preventDefault();e.returnValue=text;return text;});
panel.querySelectorAll('a').forEach(function(a){a.addEventListener('click',function(e){if(confirm(text)){leaving=true;}else{e.preventDefault();}});});}
document.querySelectorAll('input[type=file][data-fills]').forEach(function(input){input.addEventListener('change',function(){
var f=input.files&&input.files[0];if(!f)return;f.text().then(function(t){document.getElementById(input.getAttribute('data-fills')).value=t;});});});
});`;

export async function staticAssets(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  if (ctx.method !== 'GET') return next();
  if (ctx.path === '/static/keyport.css') {
    ctx.type = 'text/css';
    ctx.body = CSS;
  } else if (ctx.path === '/static/copy.js') {
    ctx.type = 'application/javascript';
    ctx.body = COPY_JS;
  } else if (ctx.path === '/static/dashboard.js') {
    ctx.type = 'application/javascript';
    ctx.body = DASHBOARD_JS;
  } else if (ctx.path === '/static/reveal.js') {
    ctx.type = 'application/javascript';
    ctx.body = REVEAL_JS;
  } else {
    return next();
  }
  ctx.set('Cache-Control', 'public, max-age=3600');
}
