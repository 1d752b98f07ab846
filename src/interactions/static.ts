import type Koa from 'koa';

/** The stylesheet and the copy button's script: served by keyport, no CDN. */
const CSS = `*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#f5f6f8;color:#1b1f24}
main{max-width:28rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{width:100%;padding:.6rem;font-size:1rem;border:1px solid #b8bec7;border-radius:6px}
button{padding:.6rem 1rem;font-size:1rem;border-radius:6px;border:1px solid #2458c6;background:#2f6fed;color:#fff;cursor:pointer;margin-top:1rem}
button.secondary{background:#fff;color:#2458c6}.error{color:#b3261e;font-weight:600}
ul.scopes{padding-left:1.2rem}code.value{display:block;padding:.75rem;background:#f0f2f5;border-radius:6px;word-break:break-all;font-size:1.1rem}
.row{display:flex;gap:.5rem;flex-wrap:wrap}`;

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

export async function staticAssets(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  if (ctx.method !== 'GET') return next();
  if (ctx.path === '/static/keyport.css') {
    ctx.type = 'text/css';
    ctx.body = CSS;
  } else if (ctx.path === '/static/copy.js') {
    ctx.type = 'application/javascript';
    ctx.body = COPY_JS;
  } else if (ctx.path === '/static/reveal.js') {
    ctx.type = 'application/javascript';
    ctx.body = REVEAL_JS;
  } else {
    return next();
  }
  ctx.set('Cache-Control', 'public, max-age=3600');
}
