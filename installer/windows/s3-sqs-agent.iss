; Inno Setup script for S3 SQS Agent (Windows). Build the app first (`make installer` on Windows, which runs
; PyInstaller into dist\s3-sqs-agent\), then: iscc /DAppVersion=0.1.0 installer\windows\s3-sqs-agent.iss
;
; Per-user install: no admin rights. Silent install for IT staff, optionally with a config file:
;   s3-sqs-agent-setup.exe /SILENT /CONFIG="\\server\share\config.yaml"          (or /VERYSILENT)
;   s3-sqs-agent-setup.exe /VERYSILENT /TASKS="autostart"                         (start at login)
; An existing config is never overwritten.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef AppDir
  #define AppDir "..\..\dist\s3-sqs-agent"
#endif
#define AppName "S3 SQS Agent"
#define AppExe "s3-sqs-agent.exe"
#define RunKey "Software\Microsoft\Windows\CurrentVersion\Run"

[Setup]
AppId={{6E0B8F7A-3C1D-4B7E-9A55-5D3A2C8E41F0}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=S3 SQS Agent
DefaultDirName={localappdata}\Programs\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=..\..\dist
OutputBaseFilename=s3-sqs-agent-{#AppVersion}-setup
SetupIconFile=..\..\assets\app.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ArchitecturesInstallIn64BitMode=x64compatible
; Closes a running agent before upgrading or uninstalling (Restart Manager), and starts it again afterwards.
CloseApplications=force
RestartApplications=yes

[Tasks]
Name: "autostart"; Description: "Start {#AppName} at login"; GroupDescription: "Options:"
Name: "desktopicon"; Description: "Create a desktop shortcut"; GroupDescription: "Options:"; Flags: unchecked

[Files]
Source: "{#AppDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{userdesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; The same value that `s3-sqs-agent autostart enable` and the tray's "Start at login" write (agent\desktop\autostart\windows.py).
Root: HKCU; Subkey: "{#RunKey}"; ValueType: string; ValueName: "{#AppName}"; ValueData: """{app}\{#AppExe}"""; Tasks: autostart; Flags: uninsdeletevalue

[Run]
Filename: "{app}\{#AppExe}"; Description: "Start {#AppName} now"; Flags: nowait postinstall skipifsilent

[UninstallRun]
Filename: "{sys}\taskkill.exe"; Parameters: "/IM {#AppExe} /F"; Flags: runhidden; RunOnceId: "StopAgent"

[UninstallDelete]
Type: filesandordirs; Name: "{app}"

[Code]
// /CONFIG=path copies a pre-made config to %LOCALAPPDATA%\s3-sqs-agent\config.yaml unless one is there.
// (platformdirs' user_config_dir on Windows, without an app author.)
procedure CurStepChanged(CurStep: TSetupStep);
var
  Source, Target: String;
begin
  if CurStep = ssPostInstall then
  begin
    Source := ExpandConstant('{param:CONFIG|}');
    Target := ExpandConstant('{localappdata}\s3-sqs-agent\config.yaml');
    if (Source <> '') and not FileExists(Target) then
    begin
      ForceDirectories(ExtractFileDir(Target));
      if not CopyFile(Source, Target, True) then
        Log('Could not copy the config file ' + Source);
    end;
  end;
end;

// Uninstalling removes the start-at-login entry even when the app (not this installer) wrote it.
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usUninstall then
    RegDeleteValue(HKEY_CURRENT_USER, '{#RunKey}', '{#AppName}');
end;
